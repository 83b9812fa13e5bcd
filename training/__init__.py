"""Shandong Digital Technology Engineer training programme manager (数字技术工程师培育项目)."""

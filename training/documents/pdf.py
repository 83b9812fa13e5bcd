"""PDF from Word through LibreOffice headless, each conversion in its own profile directory."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from training.errors import Unavailable

NOT_INSTALLED = "未安装 LibreOffice，暂无法生成 PDF，请下载 Word 版本"
TIMED_OUT = "生成 PDF 超时，请稍后重试，或下载 Word 版本"
FAILED = "LibreOffice 未能生成 PDF，请下载 Word 版本"
DEFAULT_TIMEOUT = 120.0


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def unavailable_reason() -> str | None:
    """Why no PDF can be made here, or ``None`` when LibreOffice is on the PATH."""
    return None if soffice() else NOT_INSTALLED


def convert_docx(docx: bytes, timeout: float = DEFAULT_TIMEOUT) -> bytes:
    """Blocking: run it in a thread (see :func:`docx_to_pdf`)."""
    executable = soffice()
    if executable is None:
        raise Unavailable(NOT_INSTALLED)
    with tempfile.TemporaryDirectory(prefix="training-pdf-") as work:
        folder = Path(work)
        source = folder / "document.docx"
        source.write_bytes(docx)
        # A profile of its own: two conversions sharing one would collide (MEASURED.md).
        profile = (folder / "profile").as_uri()
        command = [executable, f"-env:UserInstallation={profile}", "--headless", "--norestore", "--nologo",
                   "--convert-to", "pdf", "--outdir", str(folder), str(source)]
        env = {**os.environ, "HOME": str(folder)}
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                                   start_new_session=True)
        try:
            process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise Unavailable(TIMED_OUT) from None
        result = folder / "document.pdf"
        if process.returncode != 0 or not result.exists():
            raise Unavailable(FAILED)
        return result.read_bytes()


async def docx_to_pdf(docx: bytes, limit_seconds: float = DEFAULT_TIMEOUT) -> bytes:
    return await asyncio.to_thread(convert_docx, docx, limit_seconds)

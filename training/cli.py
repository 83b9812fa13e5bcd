"""Command line: ``training serve | scheduler | migrate | demo | user create | audit verify | backup | restore``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import logging
import os
import signal
import sys

from training import db
from training.settings import Settings


def _connect(settings: Settings):
    from training.services import storage

    storage.configure(settings.files_dir)
    return db.bind(settings)


async def _with_db(settings: Settings, work):
    engine = _connect(settings)
    await db.start(engine)
    try:
        return await work()
    finally:
        await db.stop(engine)


def cmd_migrate(settings: Settings, _: argparse.Namespace) -> int:
    from training.services.schema import migrate

    asyncio.run(_with_db(settings, migrate))
    print("数据库已是最新结构 (database up to date)")
    return 0


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from training.demo import DEMO_LOGINS, load_demo
    from training.services.schema import migrate

    async def work():
        await migrate()
        return await load_demo(only_if_empty=args.if_empty)

    loaded = asyncio.run(_with_db(settings, work))
    print("演示数据已载入 (demo province loaded)" if loaded else "演示数据已存在，未重复载入 (demo already present)")
    print_demo_logins(DEMO_LOGINS)
    return 0


def print_demo_logins(logins) -> None:
    print("\n演示账户 (demo logins) — http://127.0.0.1:8000/login")
    for login in logins:
        print(f"  {login.role:<12} {login.username:<20} {login.password}   {login.organisation}")
    print()


def cmd_user_create(settings: Settings, args: argparse.Namespace) -> int:
    from training.errors import DomainError
    from training.services.accounts import create_user

    if sys.stdin.isatty():
        password = getpass.getpass("密码 (password): ")
        if getpass.getpass("再次输入 (again): ") != password:
            print("两次输入不一致", file=sys.stderr)
            return 2
    else:
        password = sys.stdin.readline().rstrip("\n")
    try:
        user_id = asyncio.run(_with_db(settings, lambda: create_user(
            username=args.username, password=password, role=args.role, org=args.org or "",
            display_name=args.name or "")))
    except DomainError as exc:
        print(f"失败：{exc.detail} {exc.fields or ''}", file=sys.stderr)
        return 2
    print(f"已创建用户 {args.username} (id {user_id})")
    return 0


def cmd_audit_verify(settings: Settings, _: argparse.Namespace) -> int:
    from training.services.audit import verify_chain

    report = asyncio.run(_with_db(settings, verify_chain))
    if report.ok:
        print(f"审计链完整：{report.events} 条记录 (audit chain intact: {report.events} events)")
        return 0
    print(f"审计链被破坏：第 {report.first_bad_id} 条记录 — {report.reason} "
          f"(audit chain broken at event {report.first_bad_id})", file=sys.stderr)
    return 1


def cmd_backup(settings: Settings, args: argparse.Namespace) -> int:
    from training.services.backup import create_backup

    result = create_backup(settings, keep=args.keep)
    print(f"备份完成 (backup written): {result.path}  {result.size} bytes, {result.files} stored files")
    return 0


def cmd_restore(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from training.services.backup import BackupInvalid, restore_backup

    if not args.yes:
        print("恢复会覆盖当前数据库和文件；确认请加 --yes (restore overwrites the database: pass --yes)",
              file=sys.stderr)
        return 2
    try:
        manifest = restore_backup(settings, Path(args.archive))
    except BackupInvalid as exc:
        print(f"恢复失败：{exc}", file=sys.stderr)
        return 1
    print(f"已恢复 (restored) {args.archive}: created {manifest['created_at']}, {len(manifest['files'])} files")
    return 0


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from training.services.schema import migrate

    if not args.no_migrate:
        asyncio.run(_with_db(settings, migrate))
    if args.workers > 1:
        os.environ.setdefault("TRAINING_SCHEDULER", "0" if not settings.scheduler_enabled else "1")
        uvicorn.run("training.web.asgi:app", host=args.host, port=args.port, workers=args.workers,
                    proxy_headers=True, log_level="info")
    else:
        from training.web.app import create_app

        uvicorn.run(create_app(settings), host=args.host, port=args.port, proxy_headers=True, log_level="info")
    return 0


def cmd_scheduler(settings: Settings, _: argparse.Namespace) -> int:
    from training.jobs import release_scheduler, start_scheduler

    async def run() -> None:
        scheduler = await start_scheduler(settings)
        print("调度器已启动 (scheduler running); Ctrl-C 退出")
        stop = asyncio.Event()
        # SIGTERM (systemd, containers) stops as cleanly as Ctrl-C, releasing the lease at once.
        for signum in (signal.SIGTERM, signal.SIGINT):
            asyncio.get_running_loop().add_signal_handler(signum, stop.set)
        try:
            await stop.wait()
        finally:
            scheduler.shutdown(wait=False)
            await release_scheduler()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_with_db(settings, run))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="training", description="数字技术工程师培育项目管理系统")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the web application")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--no-migrate", action="store_true")
    serve.set_defaults(func=cmd_serve)
    sub.add_parser("scheduler", help="run the scheduler alone").set_defaults(func=cmd_scheduler)
    sub.add_parser("migrate", help="run the migrations and load reference data").set_defaults(func=cmd_migrate)
    demo = sub.add_parser("demo", help="load the demo province (deterministic, idempotent)")
    demo.add_argument("--if-empty", action="store_true", help="only when the database has no institutions")
    demo.set_defaults(func=cmd_demo)
    user = sub.add_parser("user", help="manage users").add_subparsers(dest="user_command", required=True)
    create = user.add_parser("create", help="create a user; password from the prompt or stdin")
    create.add_argument("--role", required=True, choices=["province", "city", "institution"])
    create.add_argument("--org", default="", help="city code, or institution credit code / id")
    create.add_argument("--username", required=True)
    create.add_argument("--name", default="")
    create.set_defaults(func=cmd_user_create)
    audit = sub.add_parser("audit", help="audit trail").add_subparsers(dest="audit_command", required=True)
    audit.add_parser("verify", help="verify the audit hash chain").set_defaults(func=cmd_audit_verify)
    backup = sub.add_parser("backup", help="back up the database and stored files")
    backup.add_argument("--keep", type=int, default=14, help="how many archives to keep")
    backup.set_defaults(func=cmd_backup)
    restore = sub.add_parser("restore", help="restore a backup archive (checks every digest first)")
    restore.add_argument("archive")
    restore.add_argument("--yes", action="store_true")
    restore.set_defaults(func=cmd_restore)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = build_parser().parse_args(argv)
    return args.func(Settings.from_env(), args)


if __name__ == "__main__":
    sys.exit(main())

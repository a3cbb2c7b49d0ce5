"""The ``abacus`` command line.

Subcommands owned here: ``demo``, ``extract``, ``generate``, ``report build``, ``dagster``.
The user operations (``resources``, ``chart``, ``events``, ``usage``, ``report show|diff``) live
in :mod:`orchestration.cli_ops` and are registered when that module is importable.

Exit codes: 0 ok, 2 bad arguments or configuration, 3 the gate refused / data not ready,
1 anything unexpected (an extraction or a run that failed).
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import shutil
import sys
import uuid
from pathlib import Path
from typing import Sequence

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NOT_READY = 0, 1, 2, 3
REPO_ROOT = Path(__file__).resolve().parent.parent


class CliError(Exception):
    def __init__(self, message: str, code: int = EXIT_FAILED):
        super().__init__(message)
        self.code = code


def _now() -> dt.datetime:
    from orchestration.partitions import utc_now
    return utc_now()


def _err(msg: str) -> None:
    print(f"error: {msg}", file=sys.stderr)


def _load_cfg(require_env: bool = False):
    from extract.config import ConfigError, load_config
    try:
        return load_config(require_env=require_env)
    except ConfigError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None


def _parse_iso(value: str, option: str) -> dt.datetime:
    try:
        t = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise CliError(f"{option}: {value!r} is not an ISO-8601 date or time", EXIT_USAGE) from None
    return t.replace(tzinfo=dt.timezone.utc) if t.tzinfo is None else t.astimezone(dt.timezone.utc)


# ------------------------------------------------------------------------- Dagster plumbing

def _instance():
    from dagster import DagsterInstance
    if os.environ.get("DAGSTER_HOME"):
        Path(os.environ["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
        return DagsterInstance.get()
    return DagsterInstance.ephemeral()


def load_definitions():
    """Prepare the dbt manifest (dbt parse) explicitly, then import the code location."""
    import importlib
    # A code location imported earlier in this process holds the manifest it was built from.
    for name in [m for m in sys.modules if m in ("orchestration.definitions", "orchestration.resources",
                                                   "orchestration.schedules")
                 or m.startswith("orchestration.assets")]:
        del sys.modules[name]
    from orchestration.resources import prepare_dbt_manifest
    prepare_dbt_manifest()
    return importlib.import_module("orchestration.definitions").defs


def _failure_message(result) -> str:
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            err = event.step_failure_data.error
            user = getattr(event.step_failure_data, "user_failure_data", None)
            if user is not None and user.description:
                return f"{event.step_key}: {user.description}"
            while err.cause is not None and "DagsterExecutionStepExecutionError" in (err.cls_name or ""):
                err = err.cause
            return f"{event.step_key}: {err.cls_name}: {err.message.strip().splitlines()[0] if err.message else err}"
    return "the run failed"


# In-process runs log to the console: keep it to warnings (the full event log is in DAGSTER_HOME).
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def run_extraction_job(defs, instance, *, day: str | None = None):
    from orchestration.assets.extraction import EXTRACT_MODE_TAG, MODE_NEW
    job = defs.resolve_job_def("extract_job")
    day = day or _now().date().isoformat()
    return job.execute_in_process(instance=instance, partition_key=day, tags={EXTRACT_MODE_TAG: MODE_NEW},
                                  raise_on_error=False, run_config=QUIET)


def run_period_job(defs, instance, period: str, *, draft: bool):
    from orchestration.assets.dbt import DRAFT_TAG
    job = defs.resolve_job_def("period_job")
    tags = {DRAFT_TAG: "true"} if draft else {}
    return job.execute_in_process(instance=instance, partition_key=period, tags=tags, raise_on_error=False,
                                  run_config=QUIET)


def check_gate_now(cfg, period: str, *, draft: bool):
    from extract.warehouse import ensure_raw_schema, warehouse_writer
    from orchestration.gate import check_gate
    with warehouse_writer(cfg.warehouse_path) as con:
        ensure_raw_schema(con, cfg)
        return check_gate(con, cfg, period, now=_now(), draft=draft)


def build_period(defs, instance, cfg, period: str, *, draft: bool) -> dict:
    """Gate, then run the period job; returns the recorded report run (CliError otherwise)."""
    from orchestration.partitions import parse_period
    try:
        parse_period(period)
    except ValueError as exc:
        raise CliError(f"--period: {exc}", EXIT_USAGE) from None
    gate = check_gate_now(cfg, period, draft=draft)
    if not gate.ok:
        raise CliError(gate.message, EXIT_NOT_READY)
    # dagster-dbt echoes every dbt event to stdout; keep the terminal readable and the full dbt
    # log in a file next to the warehouse (its path is printed, and on failure its tail).
    log_path = cfg.warehouse_path.parent / "logs" / f"build-{period}{'-draft' if draft else ''}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log, contextlib.redirect_stdout(log):
        result = run_period_job(defs, instance, period, draft=draft)
    print(f"  dbt and report log: {log_path}")
    if not result.success:
        tail = "".join(log_path.read_text().splitlines(keepends=True)[-15:])
        raise CliError(f"build of {period} failed: {_failure_message(result)}\n{tail}")
    return _report_run(cfg, result.run_id)


def _report_run(cfg, run_id: str) -> dict:
    from extract.warehouse import warehouse_writer
    from orchestration.reports import report_runs
    with warehouse_writer(cfg.warehouse_path) as con:
        return next((r for r in report_runs(con) if r["run_id"] == run_id), {})


def _fmt_run(r: dict) -> str:
    return (f"{r.get('period')}  {r.get('status'):5}  invoices {r.get('invoice_total')}  "
            f"payouts gross {r.get('payout_gross_total')} net {r.get('payout_net_total')}  "
            f"run {r.get('run_id')}  sha256 {str(r.get('invoice_lines_sha256'))[:12]}/"
            f"{str(r.get('payout_lines_sha256'))[:12]}")


# ------------------------------------------------------------------------- commands

def cmd_extract(args) -> int:
    from extract.config import ConfigError
    from extract.extraction import ExtractionError, extract_all
    cfg = _load_cfg()
    window = None
    if args.start or args.end:
        if not (args.start and args.end):
            raise CliError("--start and --end go together", EXIT_USAGE)
        window = (_parse_iso(args.start, "--start"), _parse_iso(args.end, "--end"))
        if not window[0] < window[1]:
            raise CliError("--start must be before --end", EXIT_USAGE)
    try:
        results = extract_all(cfg, window=window, sources=args.source or None)
    except ConfigError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    except ExtractionError as exc:
        for r in exc.results:
            print(f"{r.source}.{r.collection}: read {r.rows_read}, inserted {r.rows_inserted}")
        raise CliError(str(exc)) from None
    for r in results:
        print(f"{r.source}.{r.collection}: read {r.rows_read}, inserted {r.rows_inserted} "
              f"[{r.window_start:%Y-%m-%dT%H:%M:%S}Z, {r.window_end:%Y-%m-%dT%H:%M:%S}Z)")
    return EXIT_OK


def cmd_generate(args) -> int:
    from extract.generate import main as generate_main
    return int(generate_main(list(args.generate_args)) or 0)


def cmd_report_build(args) -> int:
    cfg = _load_cfg()
    from orchestration.partitions import parse_period
    try:
        parse_period(args.period)
    except ValueError as exc:
        raise CliError(f"--period: {exc}", EXIT_USAGE) from None
    gate = check_gate_now(cfg, args.period, draft=args.draft)  # refuse before loading anything
    if not gate.ok:
        raise CliError(gate.message, EXIT_NOT_READY)
    defs = load_definitions()
    run = build_period(defs, _instance(), cfg, args.period, draft=args.draft)
    print(_fmt_run(run))
    return EXIT_OK


def dagster_hint(env: dict[str, str]) -> str:
    exports = " ".join(f"{k}={v}" for k, v in sorted(env.items()))
    return (f"  cd {REPO_ROOT} && {exports} .venv/bin/dagster dev\n"
            "  (or `make dagster` with the same variables exported); then open http://127.0.0.1:3000")


def cmd_dagster(args) -> int:
    env = {k: os.environ[k] for k in ("ABACUS_CONFIG", "ABACUS_WAREHOUSE", "DAGSTER_HOME") if os.environ.get(k)}
    cfg = _load_cfg()
    for s in cfg.sources:
        env.setdefault(s.uri_env, "<mongodb uri>")
    print("Start the Dagster UI on this code location (orchestration.definitions):")
    print(dagster_hint(env))
    print("The URIs must point at the sources; `abacus demo` prints the values of its embedded server.")
    return EXIT_OK


def _write_demo_config(data_dir: Path) -> Path:
    import yaml
    from extract.config import config_path
    base = config_path()
    doc = yaml.safe_load(base.read_text()) or {}
    doc.setdefault("warehouse", {})
    doc["warehouse"]["path"] = str(data_dir / "abacus.duckdb")
    doc["warehouse"]["published_dir"] = str(data_dir / "published")
    path = data_dir / "accounting.yml"
    path.write_text(f"# written by `abacus demo` from {base}\n" + yaml.safe_dump(doc, sort_keys=False))
    return path


def _mongo_counts(cfg) -> dict[tuple[str, str], int]:
    from pymongo import MongoClient
    out = {}
    for s in cfg.sources:
        with MongoClient(s.uri(), serverSelectionTimeoutMS=5000) as client:
            for c in s.collections:
                out[(s.name, c)] = client[s.database][c].estimated_document_count()
    return out


def cmd_demo(args) -> int:
    data_dir = Path(args.data_dir).resolve()
    if args.reset and data_dir.exists():
        for name in ("mongo", "abacus.duckdb", "abacus.duckdb.wal", "abacus.duckdb.lock", "published",
                     "dagster", "dbt_target", "accounting.yml", ".demo-loaded"):
            p = data_dir / name
            if p.is_dir():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ["ABACUS_CONFIG"] = str(_write_demo_config(data_dir))
    os.environ.pop("ABACUS_WAREHOUSE", None)
    os.environ["DAGSTER_HOME"] = str(data_dir / "dagster")
    (data_dir / "dagster").mkdir(exist_ok=True)
    if not (data_dir / "dagster" / "dagster.yaml").exists():
        (data_dir / "dagster" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    os.environ.setdefault("DBT_TARGET_PATH", str(data_dir / "dbt_target"))
    os.environ.setdefault("DBT_LOG_PATH", str(data_dir / "dbt_target" / "logs"))
    cfg = _load_cfg()

    from extract.embedded import EmbeddedMongo, embedded_environment
    from extract.generate import NetworkSpec, write_to_mongo

    with EmbeddedMongo(data_dir / "mongo") as mongo:
        env = embedded_environment(cfg, mongo.uri)
        os.environ.update(env)
        marker = data_dir / ".demo-loaded"
        wanted = f"{args.size} {args.seed}"
        counts = _mongo_counts(cfg)
        if not (marker.exists() and marker.read_text().strip() == wanted and any(counts.values())):
            spec = NetworkSpec.preset(args.size, args.seed)
            print(f"loading the generated {args.size} network (seed {args.seed}) into the embedded server ...")
            write_to_mongo(spec, {s.name: mongo.uri for s in cfg.sources}, cfg)
            marker.write_text(wanted + "\n")
        else:
            print("the embedded server already holds the demo network")

        defs = load_definitions()
        instance = _instance()
        print("extracting everything new since the last run ...")
        result = run_extraction_job(defs, instance)
        if not result.success:
            raise CliError(f"extraction failed: {_failure_message(result)}")

        from extract.warehouse import warehouse_writer
        from orchestration.partitions import closed_periods, partitions_start, period_of
        if args.extract_only:
            with warehouse_writer(cfg.warehouse_path) as con:
                for s, c in cfg.collections():
                    n = con.execute(f'SELECT count(*) FROM raw."{s.name}__{c}"').fetchone()[0]
                    print(f"  raw.{s.name}__{c}: {n}")
            return EXIT_OK
        from orchestration.reports import latest_run, report_runs
        with warehouse_writer(cfg.warehouse_path) as con:
            raw_counts = {(s.name, c): con.execute(f'SELECT count(*) FROM raw."{s.name}__{c}"').fetchone()[0]
                          for s, c in cfg.collections()}
            finals = {p for p in {r["period"] for r in report_runs(con)} if latest_run(con, p, "final")}
        now = _now()
        spec = NetworkSpec.preset(args.size, args.seed)
        first_period = max(period_of(spec.start), partitions_start()[:7])
        periods = closed_periods(first_period, cfg.grace_hours, now)
        failures: list[str] = []
        for p in periods:
            if p in finals and not args.rebuild:
                print(f"{p}: final report already recorded (use --rebuild to build it again)")
                continue
            print(f"building {p} (final) ...")
            try:
                build_period(defs, instance, cfg, p, draft=False)
            except CliError as exc:
                failures.append(str(exc))
                _err(str(exc))
        current = period_of(now)
        print(f"building {current} (draft) ...")
        try:
            build_period(defs, instance, cfg, current, draft=True)
        except CliError as exc:
            failures.append(str(exc))
            _err(str(exc))

        with warehouse_writer(cfg.warehouse_path) as con:
            latest = [latest_run(con, p) for p in sorted({r["period"] for r in report_runs(con)})]
        print("\nraw rows per collection:")
        for (s, c), n in raw_counts.items():
            print(f"  raw.{s}__{c}: {n}")
        print("\nreports (latest run per period):")
        for r in latest:
            print("  " + _fmt_run(r))
        hint_env = {"ABACUS_CONFIG": os.environ["ABACUS_CONFIG"], "DAGSTER_HOME": os.environ["DAGSTER_HOME"],
                    **env}
        print(f"""
where to look next:
  working warehouse : {cfg.warehouse_path}
  published (read-only, SQL/BI): {Path(cfg.published_dir) / 'abacus.duckdb'}  and  {Path(cfg.published_dir) / 'parquet'}/
      duckdb -readonly {Path(cfg.published_dir) / 'abacus.duckdb'} "select * from marts.fct_invoices limit 5"
  Dagster UI (the embedded server lives as long as this process: run `abacus demo --serve` to keep it up):
{dagster_hint(hint_env)}
  CLI:
    abacus resources
    abacus chart compute.time_used --from {periods[-1] if periods else current}-01 --to {current}-01
    abacus report show
    abacus report build --period {periods[-1] if periods else current}""")
        if args.serve:
            print("\nthe embedded server keeps running for `dagster dev`; press Ctrl-C to stop it")
            try:
                import time
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
    return EXIT_FAILED if failures else EXIT_OK


# ------------------------------------------------------------------------- parser

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="abacus", description="abacus accounting and billing warehouse")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("demo", help="embedded sources + generated network -> warehouse -> reports")
    p.add_argument("--data-dir", default="data")
    p.add_argument("--reset", action="store_true", help="start from scratch (drops the demo data dir's state)")
    p.add_argument("--size", default="demo", help="generated network size: tiny | demo | M | L")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--rebuild", action="store_true", help="rebuild closed periods that already have a final report")
    p.add_argument("--extract-only", action="store_true", help="load and extract, skip the dbt builds and reports")
    p.add_argument("--serve", action="store_true", help="keep the embedded server running afterwards")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("extract", help="extract the configured sources into DuckDB raw")
    p.add_argument("--source", action="append", help="only this source (repeatable)")
    p.add_argument("--start", help="knowledge-time window start (ISO); with --end")
    p.add_argument("--end", help="knowledge-time window end (ISO, exclusive)")
    p.set_defaults(func=cmd_extract)

    p = sub.add_parser("generate", help="generate a network (python -m extract.generate)", add_help=False)
    p.add_argument("generate_args", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("report", help="build, show and diff period reports")
    rsub = p.add_subparsers(dest="report_command", metavar="{build,show,diff}")
    rsub.required = True
    b = rsub.add_parser("build", help="build a period's invoices and payouts (gate enforced)")
    b.add_argument("--period", required=True, metavar="YYYY-MM")
    b.add_argument("--draft", action="store_true", help="build a period that has not closed (as of now)")
    b.set_defaults(func=cmd_report_build)
    ops = None
    try:
        from orchestration import cli_ops as ops
    except ImportError:
        ops = None
    if ops is not None and hasattr(ops, "add_report_subcommands"):
        ops.add_report_subcommands(rsub)

    p = sub.add_parser("dagster", help="how to start the Dagster UI")
    p.set_defaults(func=cmd_dagster)

    if ops is not None and hasattr(ops, "register"):
        ops.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    if not os.environ.get("ABACUS_WARNINGS"):
        import warnings
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=r".*(beta|preview|superseded).*")
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["generate"]:  # everything after `generate` belongs to extract.generate
        from extract.generate import main as generate_main
        return int(generate_main(argv[1:]) or 0)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        if args.func.__module__ != __name__:
            from orchestration import cli_ops
            return cli_ops.run(args)
        return int(args.func(args) or 0)
    except CliError as exc:
        _err(str(exc))
        return exc.code
    except KeyboardInterrupt:
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())

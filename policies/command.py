"""Check the synthesized stacks of environments, their platform charts rendered as installed and the topic
catalog's KafkaTopics against the policies.

Exit 0 when every failed check is waived in policies/waivers.yaml, 1 when any is not, 2 on a usage or
tool error. Built-in checkov checks plus the project's own (policies/checks, ids CKV_WH_*).
"""

from __future__ import annotations

import argparse
import sys

from infra.config.arguments import add_env_selection, add_outdir, selected_envs


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_env_selection(parser, required=False)
    add_outdir(parser, "cdktf output directory to synthesize into and scan")
    parser.add_argument("--no-synth", action="store_true", help="scan what is already in --outdir")
    parser.add_argument("--show-waived", action="store_true", help="list waived failures too")


def _print(result, title: str, show_waived: bool) -> None:
    blocking = result.blocking
    waived = len(result.findings) - len(blocking)
    print(f"{title}: {result.passed} passed, {len(blocking)} failed, {waived} waived")
    for f in result.findings:
        if f.blocking or show_waived:
            status = "FAILED" if f.blocking else f"waived: {f.waived_because}"
            detail = f" ({'; '.join(f.details)})" if f.details else ""
            print(f"  {f.env:12} {f.check_id:12} {f.resource}{detail}\n  {'':12} {f.check_name} -- {status}")


def run(args: argparse.Namespace) -> int:
    from infra.config import ConfigError
    from policies.charts import HelmMissing
    from policies.scan import PolicyToolMissing, scan_charts, scan_stacks, scan_topic_catalog
    from policies.waivers import load_waivers

    envs = selected_envs(args)
    try:
        waivers = load_waivers()
        if not args.no_synth:
            from stacks.app import synth

            synth(envs, args.outdir)
        stacks = scan_stacks(args.outdir / "stacks", envs, waivers)
        charts = scan_charts(args.outdir / "stacks", envs, waivers)
        topics = scan_topic_catalog(waivers)
    except (ConfigError, PolicyToolMissing, HelmMissing, RuntimeError) as exc:
        print(f"policy: {exc}", file=sys.stderr)
        return 2
    _print(stacks, f"stacks of {', '.join(envs)}", args.show_waived)
    _print(charts, f"platform charts of {', '.join(envs)}", args.show_waived)
    _print(topics, "topic catalog (Strimzi KafkaTopics)", args.show_waived)
    return 1 if stacks.blocking or charts.blocking or topics.blocking else 0

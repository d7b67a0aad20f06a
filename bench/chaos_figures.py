#!/usr/bin/env python3
"""The figures of a chaos run's report (bench/chaos.sh; one JSON line per seeded run, as
ChaosLong.Runs writes them with CHAOS_REPORT): runs, faults by kind, acknowledged orders
checked, unknown outcomes resolved, violations by run and property, the longest
unavailability per fault kind. Usage: bench/chaos_figures.py REPORT.jsonl"""
import json, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
ok = [r for r in runs if not r["setup_failure"]]
steps = {}
for r in ok:
    for k, n in r["steps_by_kind"].items():
        steps[k] = steps.get(k, 0) + n
longest = {}
for r in ok:
    for k, ms in r["longest_unavailable_ms"].items():
        longest.setdefault(k, []).append(ms)
violations = [(r["seed"], v) for r in ok for v in r["violations"]]
known = [(r["seed"], v) for r in ok for v in r.get("known_violations", [])]
def total(key):
    return sum(r[key] for r in ok)
print(f"runs {len(runs)} ({len(runs) - len(ok)} could not set up: "
      f"{[r['seed'] for r in runs if r['setup_failure']]})")
print(f"faults injected {total('faults')} in {sum(steps.values())} steps: "
      + ", ".join(f"{k} {n}" for k, n in sorted(steps.items())))
print(f"acknowledged orders checked {total('acknowledged_orders')}")
print(f"unknown outcomes resolved {total('no_answer') + total('unavailable')}: "
      f"{total('no_answer')} without an answer ({total('no_answer_happened')} had happened), "
      f"{total('unavailable')} answered 5xx ({total('unavailable_happened')} had happened)")
def by_run(found):
    """seed -> property -> (count, first message)"""
    out = {}
    for seed, v in found:
        prop, _, text = v.partition(": ")
        count, first = out.setdefault(seed, {}).get(prop, (0, text))
        out[seed][prop] = (count + 1, first)
    return out
for title, found in (("violations", violations), ("violations of known defects", known)):
    runs_with = by_run(found)
    print(f"{title} {len(found)} in {len(runs_with)} runs")
    for seed, props in sorted(runs_with.items()):
        for prop, (count, first) in sorted(props.items()):
            print(f"  seed {seed}: {count} {prop}, e.g. {first[:150]}")
rec = sorted(r["recovery_ms"] for r in ok if r["recovery_ms"] is not None)
if rec:
    print(f"every partition answered after the last heal within: median {rec[len(rec)//2]} ms, "
          f"max {rec[-1]} ms")
print("longest unavailability of a partition per fault kind (each run's longest over its "
      "steps of that kind; median / max over the runs that had it):")
for k, v in sorted(longest.items()):
    v.sort()
    print(f"  {k}: {v[len(v)//2]} / {v[-1]} ms ({len(v)} runs)")
print(f"seconds per run: {sum(r['seconds'] for r in runs) / max(1, len(runs)):.1f}")

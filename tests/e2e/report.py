"""What every end-to-end test reports: its checks (one line each, the failures at the end) and
pings counted packet by packet, never by their verdict alone."""

import re
import time

_SEQ = re.compile(r"bytes from .*icmp_seq=(\d+)")
_SUMMARY = re.compile(r"(\d+) packets transmitted, (\d+) received")


class Report:
    """The checks of one test run: one line each as it is made, the failed ones at the end."""

    def __init__(self):
        self.started = time.monotonic()
        self.failures = []

    def check(self, ok, label, what, detail="", on_fail=None):
        """Print the outcome of one check; a failure is recorded and on_fail() called. Returns ok."""
        t = time.monotonic() - self.started
        print(f"{'ok  ' if ok else 'FAIL'} [{t:5.1f}s] {label}: {what}{': ' + detail if detail else ''}",
              flush=True)
        if not ok:
            self.failures.append(f"{label}: {what}")
            if on_fail:
                on_fail()
        return ok

    def verdict(self):
        """Print the summary line of the test; its exit status (0 = pass)."""
        total = time.monotonic() - self.started
        if self.failures:
            print(f"FAILED ({total:.1f} s):\n  " + "\n  ".join(self.failures))
            return 1
        print(f"PASS ({total:.1f} s)")
        return 0


def ping_replies(text):
    """(transmitted, received, seqs answered) from the output of iputils ping: every packet
    counts, not just the verdict. transmitted/received are None without a summary line."""
    summary = _SUMMARY.search(text)
    seqs = {int(m.group(1)) for m in _SEQ.finditer(text)}
    if not summary:
        return None, None, seqs
    return int(summary.group(1)), int(summary.group(2)), seqs


def ping_missing(topo, ns, src, dst, count, interval=0.2):
    """Pings dst from address src in ns; (the icmp_seq numbers never answered, the summary)."""
    res = topo.run(ns, ["ping", "-n", "-c", str(count), "-i", str(interval), "-W", "2", "-I", src, dst],
                   check=False, timeout=count * interval + 15)
    _, _, seqs = ping_replies(res.stdout)
    missing = sorted(set(range(1, count + 1)) - seqs)
    summary = " ".join(res.stdout.strip().splitlines()[-2:]) if res.stdout.strip() else res.stderr.strip()
    return missing, summary

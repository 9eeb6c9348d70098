#!/usr/bin/python3
"""Plots bench_esp's JSON (--json): TSC cycles per packet against packet size, one panel per
cipher, espgw and bare IPsec-MB (the crypto floor) for decap and encap, for the runs with one
SA (and, dashed, the largest SA count in the file).

  plot_esp.py results.json out.png
"""

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

SIZES = ["64", "512", "1420", "imix"]


def main():
    data = json.load(open(sys.argv[1]))
    rows = data["results"]
    ciphers = list(dict.fromkeys(r["cipher"] for r in rows))
    sas = sorted({r["sas"] for r in rows})
    fig, axes = plt.subplots(1, len(ciphers), figsize=(4.5 * len(ciphers), 4), squeeze=False, sharey=False)
    for ax, cipher in zip(axes[0], ciphers):
        for n, style in ((sas[0], "-"), (sas[-1], "--")) if len(sas) > 1 else ((sas[0], "-"),):
            pick = {r["size"]: r for r in rows if r["cipher"] == cipher and r["sas"] == n}
            xs = [s for s in SIZES if s in pick]
            for way, colour in (("decap", "tab:blue"), ("encap", "tab:orange")):
                ax.plot(xs, [pick[s][way]["espgw"] for s in xs], style, color=colour, marker="o",
                        label=f"espgw {way}, {n} SA{'s' if n > 1 else ''}")
                if n == sas[0]:
                    ax.plot(xs, [pick[s][way]["bare"] for s in xs], ":", color=colour, marker="x",
                            label=f"bare IPsec-MB {way}")
        ax.set_title(cipher)
        ax.set_xlabel("inner packet size (bytes)")
        ax.set_ylabel("TSC cycles per packet")
        ax.grid(True, alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.suptitle(f"espgw vs the crypto floor: {data['cpu']}, TSC {data['tsc_ghz']:.2f} GHz, {data['memory']} memory",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=110)


if __name__ == "__main__":
    main()

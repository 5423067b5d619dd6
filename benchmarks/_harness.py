# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every benchmark shares: figures as a median with the spread of their runs, and ratios to a
baseline measured in the same run.

The machine is shared and noisy: a single run, or the best of a few, says little. Each figure is
the median of its runs, shown with their min-max; a ratio is the median of the per-attempt ratios
(a figure and its baseline are measured in turn, so a slow spell falls on both), with their spread.
"""

import statistics


def median(values):
    return statistics.median(values)


def spread(values):
    """Text for a figure: 'median [min-max] (n runs)'."""
    values = list(values)
    if len(values) == 1:
        return "%.2f (1 run)" % values[0]
    return "%.2f [%.2f-%.2f]" % (median(values), min(values), max(values))


def ratios(values, baselines):
    """Per-attempt ratios of paired runs."""
    return [v / b for v, b in zip(values, baselines) if b > 0]


def ratio(values, baselines):
    """Text for a ratio: 'median x [min-max]' of the per-attempt ratios."""
    paired = ratios(values, baselines)
    if not paired:
        return "n/a"
    if len(paired) == 1:
        return "%.2fx" % paired[0]
    return "%.2fx [%.2f-%.2f]" % (median(paired), min(paired), max(paired))


def table(header, rows):
    """Print rows (lists of strings) under header, each column as wide as its widest cell."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(cell).rjust(width) for cell, width in zip(row, widths)))

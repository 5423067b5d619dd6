# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The e2e summary: one line per boot path (relay, UEFI HTTP boot, Secure Boot) with its time."""


def pytest_terminal_summary(terminalreporter):
    from support import paths

    if paths.RESULTS:
        terminalreporter.section("boot paths (power-on to the install's callback)")
        for line in paths.summary_lines():
            terminalreporter.write_line(line)

# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""make demo: the hardware-replacement story on the embedded lab, narrated, with timings, and
its discovery chapter (new hardware boots the collector, enlist makes it spares, replace takes them).

A provisioner in a network namespace (Kea, tftpd-hpa, nginx, the callback service, configured by
the collection's roles), QEMU machines with SeaBIOS+iPXE and OVMF, stand-in BMCs (Redfish and
IPMI) on loopback; then the other boot paths (tests/e2e/test_boot_paths.py). Needs root
(namespaces, taps); `make demo` installs the packages it needs.
"""

import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from support.netns import have_root
from support.story import Story, run_story


def main():
    if not have_root():
        print("make demo builds network namespaces and tap devices: run it as root.")
        return 2
    tty = sys.stdout.isatty()
    start = time.monotonic()

    def narrate(text):
        stamp = "[%6.1f s] " % (time.monotonic() - start)
        if text.startswith("   "):
            print(stamp + text.strip(), flush=True)
        else:
            print("\n" + stamp + ("\033[1m%s\033[0m" % text if tty else text), flush=True)

    results = []

    def checks(name, ok, detail):
        results.append((name, ok))
        print("           %s %s" % ("ok  " if ok else "FAIL", name), flush=True)
        if not ok:
            print("                " + str(detail)[-1500:].replace("\n", "\n                "))

    with tempfile.TemporaryDirectory(prefix="bm-demo-") as tmp:
        story = Story(tmp, narrate=narrate)
        try:
            run_story(story, checks)
            error = None
        except Exception as exc:  # report, then clean up the lab
            error = exc
        finally:
            story.close()
    print("\n%-92s %8s %s" % ("step", "seconds", "result"))
    for title, took, status in story.timings:
        print("%-92s %8.1f %s" % (title, took, status))
    passed = sum(1 for _n, ok in results if ok)
    print("\nchecks passed: %d of %d" % (passed, len(results)))
    for label, attr in (
        ("BIOS install, power-on to callback", "bios_install"),
        ("UEFI install, power-on to callback", "uefi_install"),
        ("replace (BIOS, Redfish): command start to the new machine's callback", "replace_to_callback"),
        ("replace (UEFI, IPMI): command start to the new machine's callback", "uefi_replace_to_callback"),
        ("re-install (Redfish): command start to callback", "reinstall_to_callback"),
    ):
        value = getattr(story, attr, None)
        shown = "-" if value is None else "%.1f s" % float(value)
        print("%-72s %s" % (label, shown))
    for what, took in sorted(getattr(story, "discovery", {}).items()):
        print("%-72s %.1f s" % ("discovery: " + what, took))
    if error is not None:
        print("\nthe demo stopped: %s" % error)
        return 1
    return (0 if passed == len(results) else 1) | boot_paths()


def boot_paths():
    """The other boot paths (a relayed segment, UEFI HTTP boot, Secure Boot): their e2e test, with
    its one line per path."""
    print("\nBoot paths: a far segment through a DHCP relay (ISC dhcpd, Kea), UEFI HTTP boot, Secure Boot", flush=True)
    tests = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            os.path.join(tests, "e2e", "test_boot_paths.py"),
        ],
        cwd=os.path.dirname(tests),
        check=False,
    ).returncode


if __name__ == "__main__":
    sys.exit(main())

# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hardware-replacement story, end to end, with real firmware booting off a real provisioner."""

import pytest
from support.netns import have_root
from support.story import Story, run_story

pytestmark = pytest.mark.skipif(not have_root(), reason="the lab needs root (network namespaces, taps)")


def test_replace_story(tmp_path):
    failures = []

    def checks(name, ok, detail):
        if not ok:
            failures.append("%s\n    %s" % (name, str(detail)[-2500:]))

    story = Story(tmp_path, narrate=print)
    try:
        run_story(story, checks)
    finally:
        story.close()
        for title, took, status in story.timings:
            print("%-80s %6.1f s %s" % (title, took, status))
        for title, stages in story.stages:
            print("%s: %s" % (title, ", ".join("%s %.1f s (%s)" % stage for stage in stages)))
    for what, took in sorted(getattr(story, "discovery", {}).items()):
        print("discovery: %-30s %6.1f s" % (what, took))
    assert not failures, "\n".join(failures)
    print(
        "BIOS install %.1f s, UEFI install %.1f s; replace -> callback: BIOS %.1f s, UEFI %.1f s; reinstall -> callback %.1f s"
        % (
            story.bios_install,
            story.uefi_install,
            story.replace_to_callback,
            story.uefi_replace_to_callback,
            story.reinstall_to_callback,
        )
    )

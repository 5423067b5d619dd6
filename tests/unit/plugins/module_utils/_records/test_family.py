# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""IPv6 in the records: segments IPv4-only, IPv6-only or both, and host addresses checked with the
same rules as IPv4's (inside the network, unique, outside the dynamic range, no reserved address)."""

import pytest
from support.store import FILES, load_store, messages

from ansible_collections.baremetal.provision.plugins.module_utils._provisioner.family import (
    IPV4,
    IPV6,
    boot_family,
    families,
    url_host,
)
from ansible_collections.baremetal.provision.plugins.module_utils._records import fields as F
from ansible_collections.baremetal.provision.plugins.module_utils._records.store import render_record

V6 = """\
ipv6:
  network: 2001:db8:10::/64
  next_server: 2001:db8:10::1
  dns: [2001:db8:10::53]
  dynamic_range: [2001:db8:10::1000, 2001:db8:10::1fff]
"""
V6_ONLY = "domain: v6.example.test\nprovisioner: prov-dmz\n" + V6
WEB01_V6 = 'tier: web\ninterfaces:\n  - {name: eth0, mac: "52:54:00:12:34:56", ipv6: "%s", primary: true}\n'


def load(tmp_path, **changes):
    """The sample store with files replaced; app01 (an interface in dmz with an IPv4 address) goes
    with an IPv6-only dmz unless it is given."""
    if "network:" not in changes.get("segments__dmz_yml", "network:").split("ipv6:")[0]:
        changes.setdefault("systems__app01_yml", None)
    return load_store(tmp_path, **changes)


def test_an_ipv6_only_segment_and_its_system(tmp_path):
    store = load(tmp_path, segments__dmz_yml=V6_ONLY, systems__web01_yml=WEB01_V6 % "2001:DB8:10:0::50")
    assert messages(store) == []
    web01 = store.resolve_system("web01")
    # written the one way RFC 5952 gives: the key of uniqueness and of nginx's $remote_addr
    assert web01["ipv6"] == "2001:db8:10::50" and web01["ip"] is None
    assert web01["interfaces"][0]["ipv6"] == "2001:db8:10::50"
    assert web01["network"]["network"] is None
    assert web01["network"]["ipv6"] == {
        "network": "2001:db8:10::/64",
        "prefix": 64,
        "dns": ["2001:db8:10::53"],
        "next_server": "2001:db8:10::1",
    }
    assert store.data("segments", "dmz")["ipv6"]["dynamic_range"] == ["2001:db8:10::1000", "2001:db8:10::1fff"]


def test_a_dual_stack_segment_installs_over_ipv4(tmp_path):
    store = load(
        tmp_path,
        segments__dmz_yml=FILES["segments/dmz.yml"] + V6,
        systems__web01_yml='tier: web\ninterfaces:\n  - {name: eth0, mac: "52:54:00:12:34:56", ip: 192.0.2.50, '
        'ipv6: "2001:db8:10::50", primary: true}\n',
    )
    assert messages(store) == []
    segment = store.data("segments", "dmz")
    assert families(segment) == [IPV4, IPV6]
    web01 = store.resolve_system("web01")
    assert boot_family(segment, web01["interfaces"][0]) is IPV4
    assert boot_family(segment, {"ipv6": "2001:db8:10::50"}) is IPV6
    assert boot_family(segment, {}) is None
    # a dual-stack segment's IPv4-only system stays valid
    assert messages(load(tmp_path / "v4", segments__dmz_yml=FILES["segments/dmz.yml"] + V6)) == []


def test_the_canonical_form_keeps_the_ipv6_part_in_order(tmp_path):
    store = load(tmp_path, segments__dmz_yml=V6_ONLY, systems__web01_yml=WEB01_V6 % "2001:db8:10::50")
    text = render_record("segments", store.data("segments", "dmz"))
    assert 'ipv6:\n  network: "2001:db8:10::/64"\n  next_server: "2001:db8:10::1"\n  dns: ["2001:db8:10::53"]\n' in text
    again = load(tmp_path / "again", segments__dmz_yml=text, systems__web01_yml=WEB01_V6 % "2001:db8:10::50")
    assert again.data("segments", "dmz") == store.data("segments", "dmz")


@pytest.mark.parametrize(
    "ipv6, field, reason",
    [
        ("network: 2001:db8:10::/48", "ipv6.network", "a /48: an IPv6 provisioning segment is a /64"),
        ("network: 2001:db8:10::5/64", "ipv6.network", "host bits set"),
        ("network: fe80::/64", "ipv6.network", "not a network hosts can be given addresses in"),
        ("network: 192.0.2.0/24", "ipv6.network", "not an IPv6 network"),
        ("next_server: fe80::1", "ipv6.next_server", "a link-local address"),
        ("next_server: 2001:db8:10::1%eth0", "ipv6.next_server", "carries a zone"),
        ("next_server: '::ffff:192.0.2.1'", "ipv6.next_server", "an IPv4-mapped address"),
        ("next_server: ff02::1", "ipv6.next_server", "a multicast address"),
        ("next_server: 192.0.2.1", "ipv6.next_server", "not an IPv6 address"),
        ("dns: [2001:db8:10::53, ns1]", "ipv6.dns[1]", "not an IPv6 address"),
        ("dynamic_range: [2001:db8:10::1fff, 2001:db8:10::1000]", "ipv6.dynamic_range", "reversed"),
        ("dynamic_range: [2001:db8:10::1000, 2001:db8:11::5]", "ipv6.dynamic_range[1]", "not a host address"),
        ("dynamic_range: ['2001:db8:10::', 2001:db8:10::5]", "ipv6.dynamic_range[0]", "not a host address"),
        ("dynamic_range: [2001:db8:10::1, 2001:db8:10::5]", "ipv6.dynamic_range", "contains the next_server"),
        ("relay: 2001:db8:11::1", "ipv6.relay", "outside the segment's network"),
        ("advertise: yes-please", "ipv6.advertise", "not a boolean"),
        ("router: 2001:db8:10::1", "ipv6.router", "unknown field"),
    ],
)
def test_segment_ipv6_rules(tmp_path, ipv6, field, reason):
    key = ipv6.split(":", 1)[0]
    lines = [line for line in V6.splitlines() if not line.strip().startswith(key + ":")]
    text = "domain: v6.example.test\nprovisioner: prov-dmz\n" + "\n".join([*lines, "  " + ipv6]) + "\n"
    store = load(tmp_path, segments__dmz_yml=text, systems__web01_yml=WEB01_V6 % "2001:db8:10::50")
    found = messages(store)
    assert any(m.startswith("segments/dmz.yml: %s:" % field) and reason in m for m in found), found


def test_a_segment_needs_a_network_of_some_family(tmp_path):
    store = load(tmp_path, segments__dmz_yml="provisioner: prov-dmz\n")
    assert (
        "segments/dmz.yml: network: a segment needs an IPv4 network (network), an IPv6 one (ipv6.network) or both"
        in messages(store)
    )
    missing = load(tmp_path / "m", segments__dmz_yml="provisioner: prov-dmz\nipv6: {network: 2001:db8:10::/64}\n")
    assert "segments/dmz.yml: ipv6.next_server: is required" in messages(missing)


def test_the_provisioner_advertises_only_on_its_own_link(tmp_path):
    text = V6_ONLY + "  relay: 2001:db8:10::fe\n  advertise: true\n"
    store = load(tmp_path, segments__dmz_yml=text, systems__web01_yml=WEB01_V6 % "2001:db8:10::50")
    assert any(
        m.startswith("segments/dmz.yml: ipv6.advertise: the provisioner cannot send router advertisements")
        for m in messages(store)
    ), messages(store)


def test_discovery_needs_ipv4(tmp_path):
    store = load(
        tmp_path, segments__dmz_yml=V6_ONLY + "discovery: true\n", systems__web01_yml=WEB01_V6 % "2001:db8:10::50"
    )
    assert any(m.startswith("segments/dmz.yml: discovery: discovery runs over IPv4") for m in messages(store)), (
        messages(store)
    )


@pytest.mark.parametrize(
    "address, reason",
    [
        ("2001:db8:11::50", "is outside 2001:db8:10::/64, the network of segments/dmz.yml"),
        ("2001:db8:10::", "is the subnet-router anycast address of 2001:db8:10::/64"),
        ("2001:db8:10::ffff:ffff:ffff:ff80", "one of the reserved anycast addresses of 2001:db8:10::/64"),
        ("2001:db8:10::1", "is the ipv6.next_server of segments/dmz.yml"),
        ("2001:db8:10::1234", "is inside the dynamic range 2001:db8:10::1000 - 2001:db8:10::1fff"),
        ("fe80::5054:ff:fe12:3456", "a link-local address"),
        ("2001:db8:10::50\n", "not an IPv6 address"),
    ],
)
def test_system_ipv6_rules(tmp_path, address, reason):
    store = load(tmp_path, segments__dmz_yml=V6_ONLY, systems__web01_yml=WEB01_V6 % address.replace("\n", "\\n"))
    found = messages(store)
    assert any(m.startswith("systems/web01.yml: interfaces[0].ipv6: ") and reason in m for m in found), found


def test_an_ipv6_address_is_one_machine_s_however_it_is_written(tmp_path):
    app01 = 'tier: web\ninterfaces:\n  - {name: eth0, mac: "52:54:00:12:34:60", ipv6: "2001:0db8:0010::0050"}\n'
    store = load(
        tmp_path,
        segments__dmz_yml=V6_ONLY,
        systems__web01_yml=WEB01_V6 % "2001:db8:10::50",
        systems__app01_yml=app01,
    )
    found = messages(store)
    assert (
        "systems/app01.yml: interfaces[0].ipv6: IP 2001:db8:10::50 is also used by "
        "systems/web01.yml (interfaces[0].ipv6)" in found
    ), found


def test_an_address_of_a_family_the_segment_lacks(tmp_path):
    v4_only = (
        'tier: web\ninterfaces:\n  - {name: eth0, mac: "52:54:00:12:34:56", ip: 192.0.2.50, ipv6: "2001:db8:10::50"}\n'
    )
    store = load(tmp_path, systems__web01_yml=v4_only)
    assert "systems/web01.yml: interfaces[0].ipv6: segments/dmz.yml has no IPv6 network: give this interface ip" in (
        messages(store)
    )
    v6_only = 'tier: web\ninterfaces:\n  - {name: eth0, mac: "52:54:00:12:34:56", ip: 192.0.2.50}\n'
    store = load(tmp_path / "6", segments__dmz_yml=V6_ONLY, systems__web01_yml=v6_only)
    assert "systems/web01.yml: interfaces[0].ip: segments/dmz.yml has no IPv4 network: give this interface ipv6" in (
        messages(store)
    )
    bare = 'tier: web\ninterfaces:\n  - {name: eth0, mac: "52:54:00:12:34:56"}\n'
    store = load(tmp_path / "b", segments__dmz_yml=FILES["segments/dmz.yml"] + V6, systems__web01_yml=bare)
    assert "systems/web01.yml: interfaces[0].ip: the primary interface needs an ip or an ipv6" in messages(store)


def test_overlapping_ipv6_segments(tmp_path):
    app = FILES["segments/app.yml"] + V6.replace("10::1", "10::2").replace("10::53", "10::54")
    store = load(
        tmp_path, segments__dmz_yml=V6_ONLY, segments__app_yml=app, systems__web01_yml=WEB01_V6 % "2001:db8:10::50"
    )
    found = messages(store)
    assert any(m.startswith("segments/app.yml: ipv6.network: 2001:db8:10::/64 overlaps") for m in found), found
    assert any(m.startswith("segments/dmz.yml: ipv6.network: 2001:db8:10::/64 overlaps") for m in found), found


def test_url_host_brackets_ipv6():
    assert url_host("2001:db8:10::1") == "[2001:db8:10::1]"
    assert url_host("192.0.2.1") == "192.0.2.1"
    assert str(F.parse_network6("2001:DB8:10::/64")) == "2001:db8:10::/64"


def test_what_a_machine_booting_over_ipv6_can_boot(tmp_path):
    # rocky9-legacy says boot_loader: pxelinux (BIOS), which has no IPv6 netboot
    legacy = WEB01_V6.replace("tier: web\n", "tier: web\nprofile: rocky9-legacy\n") % "2001:db8:10::50"
    store = load(tmp_path, segments__dmz_yml=V6_ONLY, systems__web01_yml=legacy)
    assert any(
        m.startswith("systems/web01.yml: boot_loader: boot_loader pxelinux (inherited or set here) is BIOS's")
        for m in messages(store)
    ), messages(store)
    # Secure Boot through a relay: GRUB finds no route there, iPXE is unsigned
    relayed = V6_ONLY + "  relay: 2001:db8:10::fe\n  advertise: false\n"
    secure = "distro: rocky9\ntemplate: rocky9.ks.j2\nsecure_boot: true\n"
    sb = WEB01_V6.replace("tier: web\n", "tier: web\nprofile: sb\n") % "2001:db8:10::50"
    store = load(tmp_path / "sb", segments__dmz_yml=relayed, profiles__sb_yml=secure, systems__web01_yml=sb)
    assert any(
        m.startswith(
            "systems/web01.yml: profile: profile sb has secure_boot, but this system boots over IPv6 "
            "through the relay 2001:db8:10::fe"
        )
        for m in messages(store)
    ), messages(store)
    # on the provisioner's own link, Secure Boot over IPv6 is fine
    direct = load(tmp_path / "ok", segments__dmz_yml=V6_ONLY, systems__web01_yml=sb, profiles__sb_yml=secure)
    assert messages(direct) == []


@pytest.mark.parametrize(
    "url",
    ["http://[2001:db8:10::1]/repo/rocky9", "https://[2001:db8::1]:8443/x", "nfs://[2001:db8::5]/export/tree"],
)
def test_a_url_may_name_an_ipv6_host(url):
    assert F.check_url(url, "install_tree") == url


@pytest.mark.parametrize(
    "url, reason",
    [
        ("http://[2001:db8::1:2:3:4:5:6:7]/repo", "is not an IPv6 address"),
        ("http://[2001:db8::zz]/repo", "could inject"),
        ("http://[2001:db8::1]/repo[1]", "could inject"),
        ("http://host/[2001:db8::1]/repo", "could inject"),
        ("http://[2001:db8::1]/repo\n", "line"),
        ("http://[2001:db8::1%eth0]/repo", "could inject"),
        ("gopher://[2001:db8::1]/repo", "could inject"),
    ],
)
def test_a_bracket_anywhere_else_is_refused(url, reason):
    with pytest.raises(ValueError, match=reason):
        F.check_url(url, "install_tree")

# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write a valid record store of N systems across segments, tiers, models, profiles and pools.

    python tests/support/fleet.py DIR N [--segments 5] [--seed 0] [--supernet 198.18.0.0/15]

The addresses are records only, never contacted: large fleets take their IPs from
198.18.0.0/15 (RFC 2544, set aside for benchmarks), small ones can be put in a documentation
range (``supernet="192.0.2.0/24"``). The same seed gives the same bytes.
"""

import argparse
import ipaddress
import os
import random
import sys

SEGMENT_NAMES = ("dmz", "app", "data", "mgmt", "edge", "batch", "lab", "dev")
TIER_NAMES = (
    "web",
    "api",
    "app",
    "worker",
    "db",
    "cache",
    "mon",
    "backup",
    "edge",
    "cdn",
    "batch",
    "etl",
    "lab",
    "ci",
    "dev",
    "test",
)
MODELS = ("r650", "r640", "r750")
TEMPLATES = {
    "rocky9.ks.j2": "# kickstart for {{ name }}\n",
    "ubuntu24.autoinstall.j2": "#cloud-config\nautoinstall:\n  version: 1\n",
}


def _mac(prefix, index):
    return "%s:%02x:%02x:%02x" % (prefix, (index >> 16) & 0xFF, (index >> 8) & 0xFF, index & 0xFF)


def _write(root, relpath, text):
    path = os.path.join(root, relpath)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def fleet_files(systems, segments=5, seed=0, supernet="198.18.0.0/15", spares_per_segment=None, images="/srv/images"):
    """{relative path: text} of a valid store; the names, in record-file form."""
    rng = random.Random(seed)
    segments = max(1, min(segments, len(SEGMENT_NAMES)))
    per_segment = -(-systems // segments)
    spares = spares_per_segment if spares_per_segment is not None else max(2, per_segment // 100)
    net = ipaddress.IPv4Network(supernet)
    # the smallest prefix that holds a segment's systems, its spares' future IPs and 10 reserved
    bits = max(2, (per_segment + spares + 12).bit_length())
    nets = list(net.subnets(new_prefix=32 - bits))
    if len(nets) < segments:
        raise ValueError("%s is too small for %d segments of %d systems" % (supernet, segments, per_segment))
    files = {
        "distros/rocky9.yml": (
            "family: redhat\narch: x86_64\nkernel: %s/rocky9/vmlinuz\ninitrd: %s/rocky9/initrd.img\n"
            "install_tree: http://repo.example.test/rocky9\n" % (images, images)
        ),
        "distros/ubuntu24.yml": (
            "family: ubuntu\narch: x86_64\nkernel: %s/ubuntu24/vmlinuz\ninitrd: %s/ubuntu24/initrd\n"
            "install_tree: http://repo.example.test/ubuntu24\n" % (images, images)
        ),
        "profiles/rocky9-base.yml": "distro: rocky9\ntemplate: rocky9.ks.j2\nkernel_options: {console: ttyS0}\n",
        "profiles/rocky9-legacy.yml": "distro: rocky9\ntemplate: rocky9.ks.j2\nboot_loader: pxelinux\n",
        "profiles/ubuntu24-base.yml": "distro: ubuntu24\ntemplate: ubuntu24.autoinstall.j2\n",
    }
    for name, text in TEMPLATES.items():
        files["templates/" + name] = text
    tiers = []
    for index in range(segments):
        seg, subnet = SEGMENT_NAMES[index], nets[index]
        hosts = subnet.network_address
        files["segments/%s.yml" % seg] = (
            "network: %s\ngateway: %s\ndns: [%s]\ndomain: %s.example.test\nprovisioner: prov-%s\nnext_server: %s\n"
            % (subnet, hosts + 1, hosts + 2, seg, seg, hosts + 2)
        )
        for offset in (0, segments):
            if index + offset < len(TIER_NAMES):
                tier = TIER_NAMES[index + offset]
                tiers.append((tier, seg, subnet))
                profile = "ubuntu24-base" if offset else "rocky9-base"
                files["tiers/%s.yml" % tier] = (
                    "segment: %s\nprofile: %s\nprofiles_by_model: {r640: rocky9-legacy}\nvars: {tier_owner: team-%s}\n"
                    % (seg, profile, tier)
                )
    next_host = dict.fromkeys(SEGMENT_NAMES, 10)
    for number in range(systems):
        tier, seg, subnet = tiers[number % len(tiers)]
        ip = subnet.network_address + next_host[seg]
        next_host[seg] += 1
        model = MODELS[rng.randrange(len(MODELS))]
        rack = "r%02d" % rng.randrange(40)
        files["systems/%s%05d.yml" % (tier, number)] = (
            'tier: %s\nhardware_model: %s\ninterfaces:\n  - {name: eth0, mac: "%s", ip: %s, primary: true}\n'
            "vars: {rack: %s}\nbuild: {generation: 1}\n" % (tier, model, _mac("52:54:00", number), ip, rack)
        )
    spare = 0
    for index in range(segments):
        seg = SEGMENT_NAMES[index]
        lines = ["segment: %s" % seg, "machines:"]
        for _count in range(spares):
            model = MODELS[spare % len(MODELS)]
            lines.append(
                '  - {mac: "%s", hardware_model: %s, serial: SN%06d}' % (_mac("52:54:01", spare), model, spare)
            )
            spare += 1
        files["pools/spares-%s.yml" % seg] = "\n".join(lines) + "\n"
    return files


def write_fleet(
    root, systems, segments=5, seed=0, supernet="198.18.0.0/15", spares_per_segment=None, images="/srv/images"
):
    """Write the fleet's record files under root; return root."""
    for relpath, text in fleet_files(systems, segments, seed, supernet, spares_per_segment, images).items():
        _write(str(root), relpath, text)
    return str(root)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root")
    parser.add_argument("systems", type=int)
    parser.add_argument("--segments", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--supernet", default="198.18.0.0/15")
    args = parser.parse_args(argv)
    write_fleet(args.root, args.systems, args.segments, args.seed, args.supernet)
    print("wrote %d systems in %d segments to %s" % (args.systems, args.segments, args.root))
    return 0


if __name__ == "__main__":
    sys.exit(main())

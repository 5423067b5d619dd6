# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""provisioner_sync's components option: the roles' one-pass render, spread into the module's own
options (where their sub-options are checked), every misuse refused by name."""

import pytest

from ansible_collections.baremetal.provision.plugins.action.provisioner_sync import spread_components


def test_components_become_the_modules_options():
    args = {"records_dir": "/r", "components": {"dhcp": {"config": "/c"}, "web": {"root": "/w", "conf_dir": "/n"}}}
    assert spread_components(args) is None
    assert args == {"records_dir": "/r", "dhcp": {"config": "/c"}, "web": {"root": "/w", "conf_dir": "/n"}}


def test_no_components_leaves_the_options_alone():
    args = {"dhcp": {"config": "/c"}}
    assert spread_components(args) is None and args == {"dhcp": {"config": "/c"}}


@pytest.mark.parametrize(
    "args, refusal",
    [
        ({"components": ["dhcp"]}, "components: a mapping of component (dhcp, tftp, web) to its options, got list"),
        ({"components": {"radius": {}}}, "components: radius: not a component provisioner_sync renders"),
        ({"components": {"dhcp": {}}, "dhcp": {}}, "components and dhcp: give each component once"),
    ],
)
def test_misuse_is_refused_by_name(args, refusal):
    assert spread_components(args).startswith(refusal)

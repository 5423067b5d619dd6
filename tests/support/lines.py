# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What differs between the ansible-core lines the collection supports, for tests that say so.

From 2.19 on, strings carry trust tags (a plain string is never a template) and Jinja's native
types are always on. Before 2.19, every string is a template unless wrapped as unsafe, and a
template's result is text unless it is a literal of another type.
"""

from ansible.release import __version__ as ANSIBLE_CORE_VERSION

LINE = tuple(int(part) for part in ANSIBLE_CORE_VERSION.split(".")[:2])
TRUST_TAGS = LINE >= (2, 19)
NATIVE_TYPES = LINE >= (2, 19)


def template_text(text):
    """``text`` as a template a play author wrote (trusted), on every line."""
    if TRUST_TAGS:
        from ansible.template import trust_as_template

        return trust_as_template(text)
    return text


def tags_of(value):
    """The data tags of a value (2.19 on); before 2.19 there are none."""
    if not TRUST_TAGS:
        return ()
    from ansible.module_utils._internal._datatag import AnsibleTagHelper  # needs 2.19's internals: only there

    return AnsibleTagHelper.tags(value)


def wrap_for_parse(data, plugin):
    """What InventoryManager hands an inventory plugin's parse() on this line: from 2.19 on a
    proxy that tags what set_variable gets (an internal class: used only where it exists),
    before 2.19 the InventoryData itself."""
    if not TRUST_TAGS:
        return data
    from ansible._internal._datatag._tags import Origin
    from ansible.inventory.manager import _InventoryDataWrapper

    return _InventoryDataWrapper(data, target_plugin=plugin, origin=Origin(description="<test>"))

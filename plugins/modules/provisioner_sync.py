#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: provisioner_sync
short_description: Render a provisioner's DHCP, TFTP and web files from the record store
version_added: 0.1.0
description:
  - Renders, in one pass, every file of the components it is given (O(dhcp), O(tftp), O(web)) for
    the segments the provisioner serves, and writes only the files whose content changed. The roles
    C(dhcp), C(tftp) and C(kickstart) call it for their own component; the C(replace), C(provision)
    and C(retire) playbooks call it once for all three, so a change costs one module run.
  - The action plugin runs on the controller, where the records are; it loads and validates the
    store (refusing, with every problem listed, a store that breaks a rule) and hands the
    provisioner's share to the module, which runs on the provisioner.
  - When the provisioner is the controller itself (connection local, no become, no task
    environment, not async), the action plugin runs the module's code in Ansible's own worker
    process, with the same argument checks and the same result, and no view file.
  - >-
    Components run in the order dhcp, tftp, web. A component that fails stops the run: the ones
    after it are not touched, and the result names the component.
  - >-
    O(dhcp): the ISC dhcpd or Kea config. A changed config is checked by the daemon itself
    (C(dhcpd -t), C(kea-dhcp4 -t)) before it replaces the live one; a config the daemon rejects
    fails the task with the daemon's message and leaves the live file as it was.
  - >-
    O(tftp): per-MAC pxelinux, GRUB and iPXE configs and the fallbacks (which boot the local disk).
    A MAC that no longer belongs to a system loses its files in the same run.
  - >-
    O(web): install configs in the web root, the nginx map that serves each one only to its
    system's IP, and the netboot index the callback service reads. Netboot once: a system is armed
    (its boot configs start the installer) only while its requested build generation is newer than
    the last one completed on this provisioner.
  - >-
    O(tftp) and O(web) render only the systems whose inputs changed since the last sync: what each
    system's render gave is kept in the state directory (C(render-tftp.json),
    C(render-web.json), readable by root only). A system is rendered again when its files are not
    in the tree as that render left them (removed by hand, say), and every system is when the
    collection's renderers or jinja2 changed. Removing those files only makes the next sync render
    everything.
author: baremetal.provision contributors (@baremetal-provision)
options:
  records_dir:
    description:
      - The record store on the controller. Defaults to the E(BAREMETAL_RECORDS) environment
        variable of the controller.
    type: path
  provisioner:
    description: The provisioner name the segments name; defaults to C(inventory_hostname).
    type: str
  view_file:
    description: Set by the action plugin (the provisioner's share of the store, as a JSON file); do not set it.
    type: path
  view:
    description:
      - The fingerprint under which a record module left this provisioner's view of the records it
        changed (the C(cached_views.fingerprints) of its result). The render takes that view from
        the controller's cache, without another scan of the store's files, so it renders the
        records as that change committed them. When no view is cached under it (another
        controller, a cleared cache), the store is scanned and its current view rendered, as
        without it.
      - The C(replace), C(provision) and C(retire) playbooks set it.
    type: str
    version_added: 0.2.0
  dhcp:
    description: Render the DHCP config, with these settings.
    type: dict
    suboptions:
      config:
        description: The DHCP config file.
        type: path
        required: true
      server:
        description: The DHCP server to render for.
        type: str
        choices: [isc, kea]
        default: isc
      check_command:
        description:
          - The checker run on a candidate config, the file's path appended. Defaults to
            C(dhcpd -t -q -cf) or C(kea-dhcp4 -t). An empty list skips the check.
        type: list
        elements: str
      extra:
        description:
          - The operator's own additions, checked by the daemon like the rest. For ISC, a string of
            C(dhcpd.conf) statements appended to the config; for Kea, a mapping of top-level C(Dhcp4) keys.
        type: raw
      interfaces:
        description: Kea's C(interfaces-config.interfaces).
        type: list
        elements: str
        default: ['*']
      derive_interfaces:
        description:
          - Ignore O(dhcp.interfaces) and listen on the provisioner's interfaces that have an address
            inside a segment it serves (not relayed); fail, before anything is written, when there is
            none. The result's C(interfaces) says which.
        type: bool
        default: false
      stale_configs:
        description:
          - Config files of the DHCP server this host no longer runs; each is removed when this
            collection wrote it (its header says so), and listed in C(removed).
        type: list
        elements: path
        default: []
      kea_lease_file:
        description: Kea's memfile lease file.
        type: path
        default: /var/lib/kea/kea-leases4.csv
      kea_control_socket:
        description:
          - Kea's control socket. When it is set and the socket exists (Kea runs), a changed config is
            loaded with C(config-reload) and the leases of reserved addresses whose MAC went away are
            deleted (C(lease4-del)), so a replacement machine gets its reserved IP at once.
        type: path
      kea_hooks:
        description: Hook libraries Kea loads (the lease commands hook is needed to delete leases).
        type: list
        elements: path
      ipv6:
        description:
          - The DHCPv6 side, rendered when the provisioner serves a segment with C(ipv6). DHCPv6 is
            always Kea's (C(kea-dhcp6)), beside either DHCPv4 server. ISC dhcpd cannot match the
            firmware's DHCPv6 requests to a MAC, and ISC DHCP has reached its end of life.
          - radvd sends the router advertisements (managed and other-config flags on, no SLAAC) on
            the segments the provisioner is on, unless a segment says C(advertise=false).
          - Without IPv6 segments, files at these paths that this collection wrote are removed.
        type: dict
        default: {}
        suboptions:
          config:
            description: Kea's DHCPv6 config file.
            type: path
            default: /etc/kea/kea-dhcp6.conf
          lease_file:
            description: Kea's DHCPv6 memfile lease file.
            type: path
            default: /var/lib/kea/kea-leases6.csv
          control_socket:
            description:
              - Kea DHCPv6's control socket. When it exists, a changed config is loaded with
                C(config-reload) and the leases of reserved addresses whose MAC went away are
                deleted (C(lease6-del)).
            type: path
          check_command:
            description:
              - The checker run on a candidate DHCPv6 config, its path appended. Defaults to
                C(kea-dhcp6 -t). An empty list skips the check.
            type: list
            elements: str
          hooks:
            description: Hook libraries kea-dhcp6 loads (default O(dhcp.kea_hooks)).
            type: list
            elements: path
          interfaces:
            description:
              - The interface of each IPv6 segment served on the provisioner's own link, a mapping
                of segment to interface. Kea selects a direct client's subnet by its interface,
                and radvd advertises on it. A segment not given here gets the host's interface
                that has an address in its /64, else the one interface of O(dhcp.interfaces).
            type: dict
            default: {}
          mac_sources:
            description:
              - Where Kea DHCPv6 takes a client's MAC from, to match it to a reservation (Kea's
                C(mac-sources)). Defaults to C([duid]). The installer and the installed system
                send a DUID that holds their MAC and get the reserved address. Firmware and iPXE
                send a DUID-UUID and lease from the dynamic range. With C(ipv6-link-local), iPXE
                would take the reserved address and never release it (see docs/provisioner.md).
            type: list
            elements: str
          extra:
            description: The operator's own top-level C(Dhcp6) keys, checked by kea-dhcp6 like the rest.
            type: dict
          radvd_config:
            description: radvd's config file.
            type: path
            default: /etc/radvd.conf
          radvd_check_command:
            description:
              - The checker run on a candidate radvd config, its path appended. Defaults to
                C(radvd --configtest --config). An empty list skips the check.
            type: list
            elements: str
  tftp:
    description: Render the TFTP boot tree, with these settings.
    type: dict
    suboptions:
      root:
        description: The TFTP root.
        type: path
        required: true
      state_dir:
        description: Where the netboot state lives (secret, index, completed generations).
        type: path
        default: /var/lib/baremetal-provision
      copies:
        description:
          - Files copied into the root from paths on the provisioner (the boot loaders), a mapping of
            the path in the root to the path on the provisioner; each written only when its content
            differs, listed in C(written) with a C(copy:) prefix, never removed.
        type: dict
        default: {}
      copy_artifacts:
        description:
          - Copy the kernels and initrds the distros give by path on the provisioner into the root
            like O(tftp.copies), and create the folders of those given by URL.
        type: bool
        default: false
  web:
    description: Render the install configs, the access map and the netboot index, with these settings.
    type: dict
    suboptions:
      root:
        description: The web root install configs are written under.
        type: path
        required: true
      conf_dir:
        description: Where the nginx access map is written.
        type: path
        required: true
      state_dir:
        description: Where the netboot state lives (secret, index, completed generations).
        type: path
        default: /var/lib/baremetal-provision
      callback_base:
        description: The base URL of the callback, when it is not the segment's C(next_server).
        type: str
      secrets:
        description:
          - Values given to install templates as C(secrets) (root password hash, keys). Use Ansible
            Vault; they are never logged.
        type: dict
      callback_dir:
        description: Where the callback service's files go (with O(web.callback_files)).
        type: path
        default: /usr/local/lib/baremetal-provision
      callback_files:
        description:
          - The callback service's files, a mapping of file name to content, each written into
            O(web.callback_dir) when its content differs and listed in C(written) with a C(callback:) prefix.
        type: dict
        default: {}
      callback_obsolete:
        description:
          - Names of the callback service's files that an earlier version installed in
            O(web.callback_dir). Each one there that names this collection in its first 4 KB is
            removed and listed in C(removed) with a C(callback:) prefix; a file of the same name
            that does not is left alone.
        type: list
        elements: str
        default: []
  components:
    description:
      - The components to render as one mapping of component name (C(dhcp), C(tftp), C(web)) to the
        options of O(dhcp), O(tftp) or O(web); the same as giving those options.
      - This is how a play renders every role's component in one run. Each role's C(render) entry
        point adds its part to the fact C(provisioner_render), which the play gives here, registering
        the result as C(provisioner_render_result) (the roles' handlers read it).
    type: dict
  scope:
    description:
      - Which systems O(tftp) and O(web) look at. V(all) looks at every system of the view, as
        C(site) does, and repairs files changed by hand.
      - V(changed) looks only at the systems an edit changed since the records this provisioner
        last synced, as the C(replace), C(provision) and C(retire) playbooks ask. The controller's
        cached view says which systems changed since the views it was patched from; the
        provisioner keeps the last one it synced and a digest of the options, its secret and
        the renderers (C(synced.json) in the state directory). When the two do not meet (a first
        sync, changed options, records changed outside the modules, a sync from another
        controller), every system is looked at and the result's C(scope_reason) says why.
      - O(dhcp) is always rendered whole and checked whole by the daemon.
    type: str
    choices: [all, changed]
    default: all
    version_added: 0.2.0
  revision:
    description:
      - The records commit this render is made from, so that an older render never lands after a
        newer one. Two runs that change records served by this provisioner push one after the
        other, but may reach it in the other order; the one with the older records would drop the
        other's change from DHCP and the boot files.
      - The provisioner remembers the commit it was last rendered from (C(records-revision.json)
        in the state directory) and syncs of it take turns. When that commit is newer than
        O(revision.commit) (it descends from it, so it already holds this change), nothing is
        rendered and RV(revision.newer) names it; when it is older or unrelated, the render goes
        ahead. Without O(revision), every sync renders, as C(site) does.
      - The playbooks set it from the commit the system module made; the action plugin fills in
        the rest from the records' git clone.
    type: dict
    suboptions:
      commit:
        description: The commit the records were read at.
        type: str
        required: true
      history:
        description: Commits before it that the controller's clone has (set by the action plugin).
        type: list
        elements: str
      replaces:
        description:
          - The provisioner's last commit, which the controller found older than O(revision.commit)
            or unrelated to it. The render happens only if it is still the last one (set by the
            action plugin).
        type: str
attributes:
  action:
    support: full
    description: An action plugin on the controller loads the records; the module runs on the provisioner.
  check_mode:
    support: full
    description: Renders and compares without writing (the DHCP checker still runs on a changed config).
  diff_mode:
    support: full
    description: The DHCP config before and after; for the trees, the files written and removed.
  platform:
    support: full
    platforms: posix
    description: Runs on the provisioner.
notes:
  - Run it on the provisioner with the records on the controller; the roles do.
  - At least one of O(dhcp), O(tftp) and O(web) must be given.
"""

EXAMPLES = r"""
- name: DHCP for the segments this host serves
  baremetal.provision.provisioner_sync:
    records_dir: "{{ playbook_dir }}/records"
    dhcp:
      config: /etc/dhcp/dhcpd.conf
  register: dhcp
  notify: Restart dhcpd

- name: Everything a changed system needs on its provisioner, in one module run
  baremetal.provision.provisioner_sync:
    records_dir: "{{ playbook_dir }}/records"
    dhcp:
      server: kea
      config: /etc/kea/kea-dhcp4.conf
      kea_control_socket: /run/kea/kea4-ctrl-socket
    tftp:
      root: /srv/tftp
    web:
      root: /srv/baremetal/www
      conf_dir: /etc/nginx/baremetal
  register: sync

- name: Show what changed per component
  ansible.builtin.debug:
    msg: "{{ sync.components | dict2items | selectattr('value.changed') | map(attribute='key') }}"
"""

RETURN = r"""
components:
  description: The outcome of each component rendered, by name (C(dhcp), C(tftp), C(web)).
  returned: always
  type: dict
  contains:
    changed:
      description: Whether this component's files changed.
      type: bool
    written:
      description:
        - Files written (relative to their tree); C(conf:) and C(state:) prefixes for the nginx map
          and the index.
      type: list
      elements: str
    removed:
      description: Generated files removed (their MAC no longer belongs to a system here).
      type: list
      elements: str
    interfaces:
      description: dhcp only, the interfaces the config is for (given, or derived from the host's addresses).
      type: list
      elements: str
    reloaded:
      description: dhcp with Kea only, true when Kea took the new config through its control socket.
      type: bool
    released:
      description: dhcp with Kea only, reserved addresses whose MAC changed or went away, as C(ip) and C(mac).
      type: list
      elements: dict
    deleted_leases:
      description: dhcp with Kea only, the addresses whose leases were deleted after the reload.
      type: list
      elements: str
    dhcp4_changed:
      description: dhcp only, whether the DHCPv4 server's config changed (its restart follows this).
      type: bool
    ipv6:
      description:
        - dhcp only, the DHCPv6 side. It has C(interfaces) (segment to interface),
          C(written) and C(removed) (absolute paths), C(dhcp6) and C(radvd) (whether that daemon
          has a config to serve), C(dhcp6_changed), C(radvd_changed) and,
          when Kea DHCPv6 reloaded through its socket, C(reloaded), C(released) and
          C(deleted_leases) as for DHCPv4.
      type: dict
    armed:
      description:
        - tftp and web, how many systems' boot configs start the installer. Before 0.2.0 this was
          the list of their names; the status playbook shows whether one system is armed.
      type: int
    scope:
      description: tftp and web, the systems the sync looked at, V(all) or V(changed) (see O(scope)).
      type: str
    scope_reason:
      description: tftp and web, with O(scope=changed), why every system was looked at after all.
      type: str
    rendered:
      description:
        - tftp and web, how many systems were rendered. The others' inputs (the system as
          inherited, armed or not, its base URL, the template, the secrets) had not changed since
          the last sync, and their files were taken from the tree as that sync left them.
      type: int
    artifacts:
      description:
        - tftp only, the kernels and initrds the tree needs (C(distro), C(kind), C(dest), C(path) or
          C(url) and C(checksum)).
      type: list
      elements: dict
  sample: {"dhcp": {"changed": true, "written": ["dhcpd.conf"], "removed": []}}
systems:
  description: How many systems this provisioner serves.
  returned: always
  type: int
segments:
  description: The segments this provisioner serves.
  returned: always
  type: list
  elements: str
revision:
  description:
    - With O(revision), C(commit) is the commit this sync was for. C(newer), when set, is the
      newer commit the provisioner was already rendered from; this sync then rendered nothing.
  returned: when revision is given and not in check mode
  type: dict
  sample: {"commit": "3f2a9c0e5b7d4a1f8e6c2b9a0d7e5f4c3b2a1908", "conflict": null}
  contains:
    commit:
      description: The commit this sync was for.
      type: str
    conflict:
      description:
        - The provisioner's last commit when it was not among this sync's, so that the module
          rendered nothing (the action plugin then decides); null when the sync rendered.
      type: str
    newer:
      description: The provisioner's newer commit, when this sync rendered nothing because of it.
      type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.baremetal.provision.plugins.module_utils._provisioner.scope import ALL, SCOPES
from ansible_collections.baremetal.provision.plugins.module_utils._provisioner.sync import DEFAULT_STATE_DIR
from ansible_collections.baremetal.provision.plugins.module_utils._runner.provisioner import run_module_sync

SPEC = dict(
    argument_spec=dict(
        records_dir=dict(type="path"),
        provisioner=dict(type="str"),
        view_file=dict(type="path"),
        view=dict(type="str"),
        dhcp=dict(
            type="dict",
            options=dict(
                config=dict(type="path", required=True),
                server=dict(type="str", default="isc", choices=["isc", "kea"]),
                check_command=dict(type="list", elements="str"),
                extra=dict(type="raw"),
                interfaces=dict(type="list", elements="str", default=["*"]),
                derive_interfaces=dict(type="bool", default=False),
                stale_configs=dict(type="list", elements="path", default=[]),
                kea_lease_file=dict(type="path", default="/var/lib/kea/kea-leases4.csv"),
                kea_control_socket=dict(type="path"),
                kea_hooks=dict(type="list", elements="path"),
                ipv6=dict(
                    type="dict",
                    default={},
                    options=dict(
                        config=dict(type="path", default="/etc/kea/kea-dhcp6.conf"),
                        lease_file=dict(type="path", default="/var/lib/kea/kea-leases6.csv"),
                        control_socket=dict(type="path"),
                        check_command=dict(type="list", elements="str"),
                        hooks=dict(type="list", elements="path"),
                        interfaces=dict(type="dict", default={}),
                        mac_sources=dict(type="list", elements="str"),
                        extra=dict(type="dict"),
                        radvd_config=dict(type="path", default="/etc/radvd.conf"),
                        radvd_check_command=dict(type="list", elements="str"),
                    ),
                ),
            ),
        ),
        tftp=dict(
            type="dict",
            options=dict(
                root=dict(type="path", required=True),
                state_dir=dict(type="path", default=DEFAULT_STATE_DIR),
                copies=dict(type="dict", default={}),
                copy_artifacts=dict(type="bool", default=False),
            ),
        ),
        web=dict(
            type="dict",
            options=dict(
                root=dict(type="path", required=True),
                conf_dir=dict(type="path", required=True),
                state_dir=dict(type="path", default=DEFAULT_STATE_DIR),
                callback_base=dict(type="str"),
                secrets=dict(type="dict", no_log=True),
                callback_dir=dict(type="path", default="/usr/local/lib/baremetal-provision"),
                callback_files=dict(type="dict", default={}),
                callback_obsolete=dict(type="list", elements="str", default=[]),
            ),
        ),
        components=dict(type="dict"),
        scope=dict(type="str", default=ALL, choices=list(SCOPES)),
        revision=dict(
            type="dict",
            options=dict(
                commit=dict(type="str", required=True),
                history=dict(type="list", elements="str"),
                replaces=dict(type="str"),
            ),
        ),
    ),
    required_one_of=[("dhcp", "tftp", "web", "components")],
    mutually_exclusive=[("components", "dhcp"), ("components", "tftp"), ("components", "web")],
    supports_check_mode=True,
)


def run(module, view=None):
    """The module's work, given an AnsibleModule (the view in its view_file) or the action
    plugin's in-process stand-in (the view itself)."""
    run_module_sync(module, view)


def main():
    run(AnsibleModule(**SPEC))


if __name__ == "__main__":
    main()

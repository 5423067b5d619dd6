# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to baremetal.provision: not a public API, may change without notice.

Boot-loader configs: the fallbacks (which boot the local disk: an unknown box never installs)
and one file per MAC for each boot loader:

    <tftp>/pxelinux.cfg/01-<mac with dashes>   pxelinux (BIOS)
    <tftp>/grub/grub.cfg-01-<mac with colons>   GRUB (UEFI; the spelling of $net_default_mac)
    <tftp>/ipxe/<mac with colons>.ipxe          iPXE (the spelling of ${netX/mac}; kernels over HTTP)

All of them live in the TFTP tree, so the DHCP boot file names are the same for every segment
and both DHCP servers; nginx serves ``ipxe/`` too (an iPXE client fetches
``http://<next-server>/ipxe/boot.ipxe``, which chains to its per-MAC script over HTTP).

A MAC whose system has an armed build gets the installer; any other MAC of a system gets
local boot (never a deleted file, which made Cobbler's machines fall through to menus).
Every value written here was validated by the record store (no whitespace, quote, brace,
semicolon, hash or dollar can reach these files); this module adds only fixed text.

Standard library only: the provisioner's callback service imports it (see the package).
"""

from __future__ import annotations

PXELINUX_LOCAL = "# baremetal.provision: local boot\nDEFAULT local\nPROMPT 0\nTIMEOUT 0\nLABEL local\n  LOCALBOOT 0\n"
# Returning to the firmware's boot manager is the robust UEFI local boot (chainloading the
# disk's loader from GRUB failed for Cobbler's users).
GRUB_LOCAL = "# baremetal.provision: local boot\nset timeout=0\nexit\n"
IPXE_LOCAL = "#!ipxe\n# baremetal.provision: local boot\nexit\n"

GRUB_DEFAULT = (
    "# baremetal.provision: hop to the per-MAC config; none means local boot\n"
    "set timeout=0\n"
    "configfile $prefix/grub.cfg-01-$net_default_mac\n"
    "exit\n"
)
# An absolute URL: iPXE reads a relative "52:54:...ipxe" as a URI of scheme "52".
IPXE_DEFAULT = (
    "#!ipxe\n"
    "# baremetal.provision: chain to the per-MAC script; none means local boot\n"
    "chain --autofree http://${next-server}/ipxe/${netX/mac}.ipxe || exit\n"
)

INSTALL_DIR = "ks"
IMAGES_DIR = "images"


def pxelinux_path(mac):
    return "pxelinux.cfg/01-" + mac.replace(":", "-")


def grub_path(mac):
    return "grub/grub.cfg-01-" + mac


def ipxe_path(mac):
    return "ipxe/%s.ipxe" % mac


def local_files(mac):
    """{path in the TFTP tree: text} switching one MAC to local boot."""
    return {
        pxelinux_path(mac): PXELINUX_LOCAL,
        grub_path(mac): GRUB_LOCAL,
        ipxe_path(mac): IPXE_LOCAL,
    }


def default_files():
    """The fallbacks every tree carries: unknown MACs boot locally."""
    return {
        "pxelinux.cfg/default": PXELINUX_LOCAL,
        "grub/grub.cfg": GRUB_DEFAULT,
        "ipxe/boot.ipxe": IPXE_DEFAULT,
    }


def ipxe_segment_script(base_url):
    """The first iPXE script of an IPv6 segment (``ipxe/boot-<segment>.ipxe``): iPXE's
    ${next-server} is IPv4's, so the segment's address is written into it."""
    return (
        "#!ipxe\n"
        "# baremetal.provision: chain to the per-MAC script; none means local boot\n"
        "chain --autofree %s/ipxe/${netX/mac}.ipxe || exit\n" % base_url
    )


# What an installer needs on its kernel line to configure its network by DHCPv6 rather than
# DHCPv4, when the machine boots over IPv6 (its boot URL names an IPv6 address). Debian's
# installer follows the router advertisement's M and O flags; it does not install over IPv6
# only yet (docs/provisioner.md, "Limits": make e2e-installer shows where it stops).
IPV6_INSTALLER_ARGS = {"kickstart": ("ip", "dhcp6"), "autoyast": ("ipv6only", "1")}


def install_url(system, base_url):
    """Where the installer fetches its config, and the kernel argument that tells it so."""
    name, fmt = system["name"], system["install_format"]
    if fmt == "autoinstall":
        url = "%s/%s/%s/" % (base_url, INSTALL_DIR, name)
        return url, "autoinstall ds=nocloud-net;s=" + url
    if fmt == "preseed":
        url = "%s/%s/%s.cfg" % (base_url, INSTALL_DIR, name)
        return url, "auto=true priority=critical url=" + url
    if fmt == "autoyast":
        url = "%s/%s/%s.xml" % (base_url, INSTALL_DIR, name)
        return url, "autoyast=" + url
    url = "%s/%s/%s.cfg" % (base_url, INSTALL_DIR, name)
    return url, "inst.ks=" + url


# Installers that copy what follows ``---`` on their kernel line into the installed system's
# boot loader: Debian's installer and Ubuntu's. Anaconda and AutoYaST take the installed system's options from their
# config (kickstart ``bootloader --append``), so the templates get them as a variable.
SEPARATED_FORMATS = ("preseed", "autoinstall")


def kernel_command_line(system, base_url, mac=None):
    """The installer's kernel line: the record's installer options, the install tree (Anaconda),
    the interface it booted from (BOOTIF, known to the per-MAC file), the host name and domain
    (Debian's installer), the install config; then ``---`` and the installed system's options
    for the installers that copy them."""
    _url, install_arg = install_url(system, base_url)
    words = [system.get("kernel_options") or ""]
    if system.get("install_tree") and system["install_format"] == "kickstart":
        words.insert(0, "inst.repo=%s" % system["install_tree"])
    if mac:
        # pxelinux's IPAPPEND 2 would add the same, but at the end of the line, after ---.
        words.append("BOOTIF=01-" + mac.replace(":", "-"))
    if system["install_format"] == "preseed":
        words.append("hostname=" + system["name"])
        domain = (system.get("network") or {}).get("domain")
        if domain:
            words.append("domain=" + domain)
    words.append(install_arg)
    over_ipv6 = IPV6_INSTALLER_ARGS.get(system["install_format"]) if "://[" in base_url else None
    if over_ipv6 and not any(w.split("=", 1)[0] == over_ipv6[0] for w in words[0].split()):
        words.append("%s=%s" % over_ipv6)
    if system["install_format"] in SEPARATED_FORMATS:
        # the installer copies exactly what follows it (its user-params), and nothing without it
        words.extend(["---", system.get("installed_kernel_options") or ""])
    return " ".join(word for word in words if word)


def install_files(system, mac, base_url):
    """{path in the TFTP tree: text} that start the installer of system on mac."""
    distro = system["distro"]
    kernel = "%s/%s/vmlinuz" % (IMAGES_DIR, distro)
    initrd = "%s/%s/initrd" % (IMAGES_DIR, distro)
    cmdline = kernel_command_line(system, base_url, mac)
    # GRUB reads ; as a command separator: quote the one argument that carries it.
    grub_cmdline = " ".join("'%s'" % word if ";" in word else word for word in cmdline.split())
    head = "# baremetal.provision: install %s generation %d\n" % (system["name"], system["build_generation"])
    return {
        # initrd= in APPEND, not an INITRD line: pxelinux adds that one at the end of the line,
        # after ---, and Debian's installer would copy it into the installed system's boot loader.
        pxelinux_path(mac): (
            "%sDEFAULT install\nPROMPT 0\nTIMEOUT 0\nLABEL install\n  KERNEL /%s\n  APPEND initrd=/%s %s\n"
            % (head, kernel, initrd, cmdline)
        ),
        grub_path(mac): (
            "%sset timeout=0\nmenuentry 'install %s' {\n  linux /%s %s\n  initrd /%s\n}\n"
            % (head, system["name"], kernel, grub_cmdline, initrd)
        ),
        # initrd=: the kernel's EFI stub loads the initrd by that name from iPXE's image files
        # (iPXE EFI, as after a UEFI HTTP boot); a BIOS boot ignores it
        ipxe_path(mac): (
            "#!ipxe\n%skernel %s/%s initrd=initrd %s\ninitrd --name initrd %s/%s\nboot\n"
            % (head, base_url, kernel, cmdline, base_url, initrd)
        ),
    }


def system_files(system, armed, macs):
    """The per-MAC boot files of one system on the MACs given as (mac, base_url) pairs (the
    interfaces in the segments this provisioner serves): the installer while armed."""
    files = {}
    for mac, base_url in macs:
        files.update(install_files(system, mac, base_url) if armed else local_files(mac))
    return files

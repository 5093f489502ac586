# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Input checks shared by every module. Each raises ValidationError naming the field."""

from __future__ import annotations

import ipaddress
import re

from .errors import ValidationError

IFNAMSIZ = 16  # kernel limit including the trailing NUL
_MAC = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PORTS = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")


def ifname(value, path):
    """Return ``value`` if the kernel would accept it as an interface name."""
    if not isinstance(value, str) or not value:
        raise ValidationError("interface name must be a non-empty string", path)
    if len(value.encode()) > IFNAMSIZ - 1:
        raise ValidationError(
            "%r is %d bytes; interface names are at most %d bytes"
            % (value, len(value.encode()), IFNAMSIZ - 1), path)
    if value in (".", "..") or "/" in value or ":" in value or any(c.isspace() for c in value):
        raise ValidationError(
            "%r is not a valid interface name (no '/', ':', whitespace, '.' or '..')" % value, path)
    return value


def netns_name(value, path):
    """Return ``value`` if it can name a file under /run/netns."""
    if not isinstance(value, str) or not value:
        raise ValidationError("namespace name must be a non-empty string", path)
    if value in (".", "..") or "/" in value or "\0" in value:
        raise ValidationError("%r is not a valid namespace name (no '/', '.' or '..')" % value, path)
    if len(value.encode()) > 255:
        raise ValidationError("%r is longer than 255 bytes" % value, path)
    return value


def interface_cidr(value, path):
    """Parse ``10.0.0.1/24`` into an ip_interface; a bare address or a network is an error."""
    if not isinstance(value, str) or "/" not in value:
        raise ValidationError(
            "%r is not an address with a prefix length, e.g. 10.10.0.1/16" % (value,), path)
    try:
        iface = ipaddress.ip_interface(value)
    except ValueError:
        raise ValidationError("%r is not an IPv4 or IPv6 network" % (value,), path) from None
    if iface.ip == iface.network.network_address and iface.network.prefixlen < iface.max_prefixlen - 1:
        raise ValidationError(
            "%r is the network address itself; give a host address in it" % (value,), path)
    return iface


def network(value, path):
    """Parse a network (``10.10.0.0/16``); host bits set are an error, as with Docker's --subnet."""
    try:
        return ipaddress.ip_network(value, strict=True)
    except (ValueError, TypeError):
        raise ValidationError("%r is not an IPv4 or IPv6 network" % (value,), path) from None


def address(value, path):
    """Parse a single IP address."""
    try:
        return ipaddress.ip_address(value)
    except (ValueError, TypeError):
        raise ValidationError("%r is not an IPv4 or IPv6 address" % (value,), path) from None


def same_family(value, other, path, other_name):
    """Return ``value`` (a parsed address or network) if it is of ``other``'s IP family: a rule
    cannot match an IPv6 destination for an IPv4 source."""
    if value.version != other.version:
        raise ValidationError("%s is IPv%d but %s %s is IPv%d; one rule cannot mix families"
                              % (value, value.version, other_name, other, other.version), path)
    return value


def mac(value, path):
    """Return a lower-case MAC address; multicast addresses are refused by the kernel, so here too."""
    if not isinstance(value, str) or not _MAC.match(value):
        raise ValidationError("%r is not a MAC address like 02:42:ac:11:00:02" % (value,), path)
    if int(value[:2], 16) & 1:
        raise ValidationError("%r is a multicast MAC address" % (value,), path)
    return value.lower()


def mtu(value, path):
    """MTU within what Ethernet-like links accept."""
    if value is None:
        return None
    if not 68 <= value <= 65535:
        raise ValidationError("%r is outside 68..65535" % (value,), path)
    return value


def ports(value, path):
    """``8080``, ``"8080"`` or ``"8080-8090"`` -> (first, last); 1..65535, first <= last."""
    if isinstance(value, bool):
        raise ValidationError("%r is not a port or port range" % (value,), path)
    if isinstance(value, int):
        first = last = value
    else:
        match = _PORTS.match(str(value))
        if not match:
            raise ValidationError("%r is not a port or a range like 8080-8090" % (value,), path)
        first = int(match.group(1))
        last = int(match.group(2) or first)
    for port in (first, last):
        if not 1 <= port <= 65535:
            raise ValidationError("port %d is outside 1..65535" % port, path)
    if first > last:
        raise ValidationError("range %d-%d is reversed" % (first, last), path)
    return first, last


def unique(items, key, path_of, what):
    """Fail on the second item whose ``key`` repeats an earlier one."""
    seen = {}
    for i, item in enumerate(items):
        k = key(item)
        if k in seen:
            raise ValidationError("%s %r is also given by item %d" % (what, k, seen[k]), path_of(i))
        seen[k] = i


# a project names marks and rule comments: short (an nftables rule comment holds 128 bytes)
PROJECT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,23}$")


def project(value, path):
    """Return ``value`` if it can name a project (engine.owner): 1 to 24 letters, digits, '-', '_'."""
    if not isinstance(value, str) or not PROJECT.match(value):
        raise ValidationError("%r is not a project name (1 to 24 letters, digits, '-' or '_', starting with a letter "
                              "or digit)" % (value,), path)
    return value


def environment(value, path, reserved=()):
    """A process's environment variables as {name: str value} (None: none); a number or boolean value
    is taken as its text. ``reserved`` names are nsbridge's own."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationError("must be a dict of variable: value", path)
    out = {}
    for key, item in value.items():
        key = str(key)
        if not _ENV_NAME.match(key):
            raise ValidationError("%r is not an environment variable name (letters, digits and _, not a digit first)"
                                  % key, path)
        if key in reserved:
            raise ValidationError("%s is nsbridge's own" % key, path)
        if item is None or isinstance(item, (dict, list)):
            raise ValidationError("%s: %r is not a string, number or boolean" % (key, item), path)
        out[key] = str(item)
    return out

# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to baremetal.provision: not a public API, may change without notice.

The record layer: fields, schema, YAML I/O, the store and its rules, scans, transactions,
editors and the record parse cache. Runs on the controller (modules, inventory, action plugins).
"""

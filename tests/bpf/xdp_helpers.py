"""Shared helpers of the XDP forwarder tests."""

from __future__ import annotations

import os

import pytest

IS_ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not IS_ROOT, reason="loading BPF programs and creating netns needs root")

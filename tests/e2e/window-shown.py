#!/usr/bin/python3
"""Exit 0 when a viewable top-level window named $1 exists on the X display, 1 otherwise."""
import sys
from Xlib import X, display

name = sys.argv[1]
d = display.Display()
NET_WM_NAME = d.intern_atom("_NET_WM_NAME")
UTF8 = d.intern_atom("UTF8_STRING")


def title(w):
    try:
        p = w.get_full_property(NET_WM_NAME, UTF8)
        return p.value.decode("utf-8", "replace") if p else (w.get_wm_name() or "")
    except Exception:
        return ""


def walk(w):
    try:
        children = w.query_tree().children
    except Exception:
        return
    for c in children:
        yield c
        yield from walk(c)


for w in walk(d.screen().root):
    try:
        if title(w) == name and w.get_attributes().map_state == X.IsViewable:
            sys.exit(0)
    except Exception:
        continue
sys.exit(1)

#!/usr/bin/python3
"""Close a window the way a window manager's close button does: a WM_DELETE_WINDOW client
message to the top-level window named $1 (default "Tributary"). The app may refuse (it hides to
the tray); a window manager would not destroy it either. Needs python3-xlib."""
import sys
from Xlib import X, display, protocol

name = sys.argv[1] if len(sys.argv) > 1 else "Tributary"
d = display.Display()
root = d.screen().root
WM_PROTOCOLS = d.intern_atom("WM_PROTOCOLS")
WM_DELETE = d.intern_atom("WM_DELETE_WINDOW")
NET_WM_NAME = d.intern_atom("_NET_WM_NAME")
UTF8 = d.intern_atom("UTF8_STRING")


def title(w):
    try:
        p = w.get_full_property(NET_WM_NAME, UTF8)
        if p:
            return p.value.decode("utf-8", "replace")
        return w.get_wm_name() or ""
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


sent = 0
for w in walk(root):
    if title(w) == name:
        try:
            if WM_DELETE not in (w.get_wm_protocols() or []):
                continue
        except Exception:
            continue
        event = protocol.event.ClientMessage(window=w, client_type=WM_PROTOCOLS, data=(32, [WM_DELETE, X.CurrentTime, 0, 0, 0]))
        w.send_event(event, event_mask=X.NoEventMask)
        sent += 1
d.flush()
print(f"sent WM_DELETE_WINDOW to {sent} window(s) named {name!r}")
sys.exit(0 if sent else 1)

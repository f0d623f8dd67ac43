#!/usr/bin/python3
# A minimal org.freedesktop.Notifications server for headless end-to-end tests: it records each
# Notify call as a JSON line in $TRIBUTARY_NOTIFY_LOG (the test's observable effect: what the
# athlete would have seen). With FAKE_NOTIFY_CLICK=1, or while the file named by
# $TRIBUTARY_NOTIFY_CLICK_FLAG exists (a test turns it on and off), it also "clicks" each
# notification that offers a default action, by emitting ActionInvoked(id, "default").
import json, os, sys
import dbus, dbus.service, dbus.mainloop.glib
from gi.repository import GLib

IFACE = "org.freedesktop.Notifications"
LOG = os.environ.get("TRIBUTARY_NOTIFY_LOG", "/dev/stdout")

class Server(dbus.service.Object):
    def __init__(self, bus):
        super().__init__(bus, "/org/freedesktop/Notifications")
        self.next_id = 1

    @dbus.service.method(IFACE, in_signature="susssasa{sv}i", out_signature="u")
    def Notify(self, app, replaces, icon, summary, body, actions, hints, timeout):
        nid = self.next_id; self.next_id += 1
        with open(LOG, "a") as f:
            f.write(json.dumps({"id": nid, "app": str(app), "summary": str(summary), "body": str(body),
                                "actions": [str(a) for a in actions]}) + "\n")
        flag = os.environ.get("TRIBUTARY_NOTIFY_CLICK_FLAG")
        clicking = os.environ.get("FAKE_NOTIFY_CLICK") == "1" or bool(flag and os.path.exists(flag))
        if clicking and "default" in [str(a) for a in actions]:
            GLib.timeout_add(500, lambda: (self.ActionInvoked(dbus.UInt32(nid), "default"), False)[1])
        return dbus.UInt32(nid)

    @dbus.service.method(IFACE, in_signature="", out_signature="as")
    def GetCapabilities(self):
        return ["actions", "body"]

    @dbus.service.method(IFACE, in_signature="", out_signature="ssss")
    def GetServerInformation(self):
        return ("fake-notifyd", "test", "0", "1.2")

    @dbus.service.method(IFACE, in_signature="u", out_signature="")
    def CloseNotification(self, nid):
        self.NotificationClosed(nid, dbus.UInt32(3))

    @dbus.service.signal(IFACE, signature="us")
    def ActionInvoked(self, nid, key): pass

    @dbus.service.signal(IFACE, signature="uu")
    def NotificationClosed(self, nid, reason): pass

dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
bus = dbus.SessionBus()
name = dbus.service.BusName(IFACE, bus)
srv = Server(bus)
print("fake notifyd ready", flush=True)
GLib.MainLoop().run()

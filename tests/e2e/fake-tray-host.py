#!/usr/bin/python3
# A stand-in for a desktop's tray: an org.kde.StatusNotifierWatcher with a host registered, as a
# panel showing tray icons provides. Xvfb has none, so without this the app would (rightly) treat
# the desktop as tray-less. Items that register are accepted and forgotten. Killing this process
# is a tray going away. Prints "ready" once it owns the name.
import dbus, dbus.service, dbus.mainloop.glib
from gi.repository import GLib

IFACE = "org.kde.StatusNotifierWatcher"

class Watcher(dbus.service.Object):
    def __init__(self, bus):
        super().__init__(bus, "/StatusNotifierWatcher")
        self.items = []

    @dbus.service.method(IFACE, in_signature="s", out_signature="")
    def RegisterStatusNotifierItem(self, service):
        self.items.append(str(service))
        self.StatusNotifierItemRegistered(service)

    @dbus.service.method(IFACE, in_signature="s", out_signature="")
    def RegisterStatusNotifierHost(self, service):
        pass

    @dbus.service.signal(IFACE, signature="s")
    def StatusNotifierItemRegistered(self, service): pass

    @dbus.service.signal(IFACE, signature="")
    def StatusNotifierHostRegistered(self): pass

    @dbus.service.method(dbus.PROPERTIES_IFACE, in_signature="ss", out_signature="v")
    def Get(self, iface, prop):
        return self.GetAll(iface)[prop]

    @dbus.service.method(dbus.PROPERTIES_IFACE, in_signature="s", out_signature="a{sv}")
    def GetAll(self, iface):
        return {
            "IsStatusNotifierHostRegistered": dbus.Boolean(True),
            "ProtocolVersion": dbus.Int32(0),
            "RegisteredStatusNotifierItems": dbus.Array(self.items, signature="s"),
        }

dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
bus = dbus.SessionBus()
watcher = Watcher(bus)
name = dbus.service.BusName(IFACE, bus)
print("fake tray host ready", flush=True)
GLib.MainLoop().run()

// Package gb28181 is the platform side of GB/T 28181, the Chinese standard for
// networked video surveillance: camera platforms and devices register to it
// over SIP, and it turns what they report into commandd cameras and camera
// events.
//
// A Server listens on one HOST:PORT over UDP and TCP (Config.Listen) as the
// platform whose 20-digit SIP id is Config.ID. Devices REGISTER with HTTP
// digest authentication (MD5, RFC 2617/7616) in realm Config.Realm — by
// default the first ten digits of the id — with the shared Config.Password:
// a REGISTER without credentials is challenged (401), one with a wrong
// password is refused (403). Registrations last for their Expires (Expires: 0
// unregisters) and end early when the device sends nothing, not even a
// keepalive, for Config.KeepaliveTimeout. Devices lists them.
//
// After a device registers, the server sends it a MANSCDP catalog query
// (MESSAGE, Application/MANSCDP+xml). The device answers with one or more
// Catalog MESSAGEs; each channel with a usable, non-zero longitude and
// latitude is passed to Sink.Camera (camera id = channel id), and again
// whenever its name or position changes.
//
// A device's Notify/Keepalive is answered 200 and keeps it alive. A
// Notify/Alarm is passed to Sink.Alarm with its commandd event type and
// confidence (see EventType, Confidence and docs/api.md) and answered 200,
// then acknowledged with a Response/Alarm. MESSAGEs from devices that are not
// registered, or that come from another host than their REGISTER did, are
// refused (403); bodies that are not MANSCDP XML get 400 and reach no sink;
// bodies over Config.MaxBody get 413.
//
// Bodies are read in the encoding their XML declaration names: GB2312, GBK
// and GB18030 are decoded (as GB18030, their superset); a body without a
// declaration that is not valid UTF-8 is taken to be GB18030 too.
//
// Only what commandd needs is implemented: no live video (INVITE), PTZ
// control, subscriptions, or cascading to an upper platform.
package gb28181

"""CalDAV/CardDAV client run by caldav.test.ts with Debian's python3-caldav: creates, syncs, moves and
deletes events and contacts at BASE_URL and prints one JSON line per step for the test to check."""
import json
import sys
import uuid

import caldav

base, ca_file = sys.argv[1], sys.argv[2]
client = caldav.DAVClient(url=base, username="alice", password="secret", ssl_verify_cert=ca_file)


def step(name, **facts):
    print(json.dumps({"step": name, **facts}), flush=True)


def event(uid, summary):
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//mailgate test//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260110T090000Z\r\n"
        f"DTEND:20260110T100000Z\r\nSUMMARY:{summary}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


principal = client.principal()
work = principal.make_calendar(name="Work", cal_id="work")
home = principal.make_calendar(name="Home", cal_id="home")
step("calendars", names=sorted(c.name for c in principal.calendars()))

first = work.save_event(event("ev-1", "Standup"))
work.save_event(event("ev-2", "Review"))
step("created", summaries=sorted(e.vobject_instance.vevent.summary.value for e in work.events()))

# Sync: a sync-collection REPORT, then an edit, then the changes since the token.
synced = work.objects_by_sync_token(load_objects=True)
token = synced.sync_token
first.vobject_instance.vevent.summary.value = "Standup (moved to 9:30)"
first.save()
changed = work.objects_by_sync_token(sync_token=token, load_objects=True)
step("synced", changed=[o.vobject_instance.vevent.summary.value for o in changed])

# Move: MOVE with a Destination naming the public URL of the other calendar.
source = str(first.url)
target = str(home.url) + "ev-1.ics"
response = client.request(source, "MOVE", headers={"Destination": target, "Overwrite": "F"})
step(
    "moved",
    status=response.status,
    work=sorted(e.vobject_instance.vevent.uid.value for e in work.events()),
    home=sorted(e.vobject_instance.vevent.uid.value for e in home.events()),
)

for e in home.events():
    e.delete()
step("deleted", home=len(home.events()), work=len(work.events()))

# CardDAV: an address book made with extended MKCOL, a contact PUT, found, moved and deleted.
books = principal.url.join("contacts/")
mkcol = (
    '<?xml version="1.0" encoding="utf-8"?><D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">'
    "<D:set><D:prop><D:resourcetype><D:collection/><C:addressbook/></D:resourcetype>"
    "<D:displayname>Contacts</D:displayname></D:prop></D:set></D:mkcol>"
)
made = client.request(str(books), "MKCOL", mkcol, {"Content-Type": "application/xml"})
uid = str(uuid.uuid4())
card = f"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:Ada Lovelace\r\nEMAIL:ada@example.org\r\nEND:VCARD\r\n"
put = client.put(str(books.join("ada.vcf")), card, {"Content-Type": "text/vcard"})
query = (
    '<?xml version="1.0" encoding="utf-8"?><C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">'
    "<D:prop><D:getetag/><C:address-data/></D:prop></C:addressbook-query>"
)
found = client.report(str(books), query, depth=1)
moved = client.request(str(books.join("ada.vcf")), "MOVE", headers={"Destination": str(books.join("lovelace.vcf"))})
after = client.propfind(str(books), depth=1)
gone = client.delete(str(books.join("lovelace.vcf")))
step(
    "contacts",
    mkcol=made.status,
    put=put.status,
    found=b"Ada Lovelace" in found.raw,
    moved=moved.status,
    listed_new=b"lovelace.vcf" in after.raw,
    listed_old=b"ada.vcf" in after.raw,
    deleted=gone.status,
)

"""`hpsearch serve`: a search service over HTTP/JSON that workers anywhere, in any language, use.

The service (`ServiceServer`, Tornado) holds the studies under one STORAGE folder and is the
only writer of their run folders. Clients ask for trials under leases, renewed by heartbeats
and reports; a lease that runs out (its worker was lost) makes the trial `interrupted`, and it
is asked again under its own number, params and seed, while a late tell from the lost worker
is refused. Asks are atomic (one event loop), tells idempotent (a lease tells once; a retried
tell gets the record back), and the strategy sees every leased trial as pending.

Modules, one concept each: `routes` (the route table and the OpenAPI document made from it),
`api` (what each route does), `server` (Tornado, the checks every request passes: token, Host,
body size, content type), `auth` (tokens, loopback addresses), `registry` (study names to run
folders under STORAGE), `hosted` (one served study: ask, tell, report, heartbeat, expiry),
`leases` (the lease table beside each study), `wire` (JSON for trials, values, artifacts),
`client` (`connect`, `Client`), `remote` (`RemoteStudy`), `worker` (`hpsearch worker`).
Nothing below this package imports it; importing it does not start or import Tornado until a
server is made (the client needs only the standard library).
"""

from hpsearch.service.client import Client, connect
from hpsearch.service.remote import RemoteStudy

__all__ = ["Client", "RemoteStudy", "connect"]

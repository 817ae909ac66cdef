"""HTTP routers: they translate requests into commands of the front doors (`LiveSession`, the
meeting service, seasons) and domain objects back into JSON. They check who the caller is
(service/auth.py) and never catch domain errors: service/http_errors.py answers those.
"""

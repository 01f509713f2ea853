"""`temporal-authz explain`: what the server derives from one token, and why, from the model (and, with
--target, from a live server)."""

"""Container images shaped like the official `temporalio/server` ones, built here around a provisioned binary
(where no registry is reachable): the Dockerfiles of each layout and the code that builds them."""

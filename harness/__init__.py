"""temporal-authz-conformance: the harness."""

import os

# The harness forks server processes with a preexec_fn (PR_SET_PDEATHSIG, harness/server/process.py), and
# grpcio's fork handlers then run in the child: with its epoll threads busy they abort it before exec
# (seen: "ev_epoll1_linux.cc:456 Check failed: wakeup_fd_->Wakeup().ok()", exit -6). No child the
# harness forks uses gRPC, so the handlers are switched off; it must happen before grpc is imported.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

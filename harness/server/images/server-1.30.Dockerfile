# The layout of the official temporalio/server image from 1.30 (the server repository's
# docker/targets/server.Dockerfile), rebuilt here around a binary the harness provisioned, where no
# registry can be reached. The official image starts FROM alpine and adds ca-certificates and tzdata; this
# one starts from nothing and has no shell at all, so nothing the harness does may need one.
# rootfs.tar (made by harness/server/images/build.py) holds:
#   /usr/local/bin/temporal-server     the release's binary (root, 0755)
#   /etc/passwd, /etc/group            root and temporal (uid and gid 1000), as `adduser -u 1000` makes them
#   /etc/temporal/                     the working directory, owned by root: the server user cannot write it
#   /tmp                               1777
# The official image's command is /etc/temporal/entrypoint.sh, a /bin/sh script that sets BIND_ON_IP and
# ends in `exec temporal-server start` (the config rendered from the environment by the binary itself).
# Without a shell that script cannot run here: the command is what it ends in.
FROM scratch
ADD rootfs.tar /
WORKDIR /etc/temporal
USER temporal
CMD ["/usr/local/bin/temporal-server", "start"]

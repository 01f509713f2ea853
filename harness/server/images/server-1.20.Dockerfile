# The layout of the official temporalio/server image for 1.20-1.29 (temporalio/docker-builds
# server.Dockerfile, "server" target), rebuilt here around a binary the harness provisioned, where no
# registry can be reached. The official image starts FROM temporalio/base-server (Alpine with bash, curl,
# dockerize, tctl); this one starts from nothing, and rootfs.tar (made by harness/server/images/build.py)
# holds what the harness can reproduce of it:
#   /usr/local/bin/temporal-server     the release's binary (root, 0755)
#   /etc/passwd, /etc/group            root and temporal (uid and gid 1000), as `adduser -u 1000` makes them
#   /etc/temporal/config/              owned by temporal (the official image chowns it: dockerize writes
#                                      docker.yaml there), with an empty dynamicconfig/docker.yaml
#   /etc/temporal/entrypoint.sh        the era's entrypoint and start-temporal.sh, ported to POSIX sh
#   /etc/temporal/start-temporal.sh    (dockerize's config rendering is not reproduced: no dockerize here)
#   /bin/busybox (sh, awk, echo,       a shell, as the official image has one (where the machine that builds
#    hostname, tr)                     the image has a static busybox: Debian's busybox-static)
#   /tmp                               1777
FROM scratch
ADD rootfs.tar /
WORKDIR /etc/temporal
ENV TEMPORAL_HOME=/etc/temporal
EXPOSE 6933 6934 6935 6939 7233 7234 7235 7239
USER temporal
ENTRYPOINT ["/etc/temporal/entrypoint.sh"]

#!/usr/bin/env bash
# Reproduces "one database on a network drive shared by two hosts" on one
# machine: two FUSE mounts (host-a, host-b) of one directory (share).
#
#   scripts/network-drive.sh up   DIR [sshfs|bindfs]   # prints the two mount points
#   scripts/network-drive.sh down DIR
#
# sshfs: an SSH server on 127.0.0.1 (a free port, key auth, its own config and
# keys under DIR/ssh) and two sshfs mounts of DIR/share. bindfs: two bindfs
# mounts of DIR/share. Needs root (FUSE, sshd) and: sshfs, openssh-server,
# bindfs, fuse3. To try your own share instead, mount it twice and point two
# processes at the same file through the two mount points.
set -euo pipefail
cmd="${1:?usage: network-drive.sh up|down DIR [sshfs|bindfs]}"
dir="$(mkdir -p "${2:?DIR}" && cd "$2" && pwd)"
kind="${3:-sshfs}"

unmount() { fusermount3 -u "$1" 2>/dev/null || fusermount -u "$1" 2>/dev/null || umount -l "$1" 2>/dev/null || true; }

case "$cmd" in
up)
  mkdir -p "$dir/share" "$dir/host-a" "$dir/host-b"
  if [ "$kind" = bindfs ]; then
    # No entry or attribute caching: a host must see the other's journal come and go (see README, network drives).
    for host in host-a host-b; do
      bindfs --no-allow-other -o entry_timeout=0,attr_timeout=0,negative_timeout=0 "$dir/share" "$dir/$host"
    done
  else
    ssh="$dir/ssh"
    mkdir -p "$ssh" /run/sshd
    [ -f "$ssh/host_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$ssh/host_key"
    [ -f "$ssh/client_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$ssh/client_key"
    cp "$ssh/client_key.pub" "$ssh/authorized_keys"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
    cat > "$ssh/sshd_config" <<CONF
Port $port
ListenAddress 127.0.0.1
HostKey $ssh/host_key
AuthorizedKeysFile $ssh/authorized_keys
PidFile $ssh/sshd.pid
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
Subsystem sftp internal-sftp
CONF
    /usr/sbin/sshd -f "$ssh/sshd_config"
    opts="dir_cache=no,entry_timeout=0,attr_timeout=0,negative_timeout=0,port=$port,IdentityFile=$ssh/client_key,StrictHostKeyChecking=no,UserKnownHostsFile=/dev/null,LogLevel=ERROR"
    for host in host-a host-b; do
      for attempt in 1 2 3 4 5 6 7 8 9 10; do
        sshfs -o "$opts" "$(id -un)@127.0.0.1:$dir/share" "$dir/$host" && break
        sleep 0.3
      done
    done
  fi
  mountpoint -q "$dir/host-a" && mountpoint -q "$dir/host-b"
  echo "$dir/host-a"
  echo "$dir/host-b"
  ;;
down)
  unmount "$dir/host-a"
  unmount "$dir/host-b"
  if [ -f "$dir/ssh/sshd.pid" ]; then kill "$(cat "$dir/ssh/sshd.pid")" 2>/dev/null || true; rm -f "$dir/ssh/sshd.pid"; fi
  ;;
*) echo "usage: network-drive.sh up|down DIR [sshfs|bindfs]" >&2; exit 2 ;;
esac

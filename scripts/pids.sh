# Pid files of the processes `make up` starts, sourced by up.sh and down.sh.
#
# A pid file outlives a crash: its pid may be dead, a zombie, or reused by another program
# since. Only a live process whose command line (/proc/<pid>/cmdline, `ps` where there is
# no /proc) holds the expected command is taken as the one we started.

# pid_state PID EXPECTED: prints ours, dead, zombie or other (a live process running
# something else: the pid was reused).
pid_state() {
  local pid="$1" expected="$2" state command
  if ! [[ "$pid" =~ ^[0-9]+$ ]] || ! kill -0 "$pid" 2>/dev/null; then
    echo dead
    return
  fi
  if [ -r "/proc/$pid/stat" ]; then
    state="$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)"
    command="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"
  else
    state="$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)"
    command="$(ps -o args= -p "$pid" 2>/dev/null)"
  fi
  case "$state" in
    '') echo dead ;;
    Z | X) echo zombie ;;
    *) if [[ "$command" == *"$expected"* ]]; then echo ours; else echo other; fi ;;
  esac
}

# running PIDFILE EXPECTED: whether the pid file names our live process.
running() {
  [ -f "$1" ] && [ "$(pid_state "$(cat "$1")" "$2")" = ours ]
}

# group_alive PID: whether a process of the group PID led is still alive. Its pid cannot
# have been reused by another group while any of them lives.
group_alive() {
  [[ "$1" =~ ^[0-9]+$ ]] && kill -0 -- "-$1" 2>/dev/null
}

# rotate_log FILE [KEEP]: FILE becomes FILE.1, FILE.1 becomes FILE.2... (KEEP kept, 5 by
# default), so a restart never truncates away the previous run's log (a crash's traceback).
rotate_log() {
  local file="$1" keep="${2:-5}" i
  [ -s "$file" ] || return 0
  for ((i = keep - 1; i >= 1; i--)); do
    [ -f "$file.$i" ] && mv -f -- "$file.$i" "$file.$((i + 1))"
  done
  mv -f -- "$file" "$file.1"
}

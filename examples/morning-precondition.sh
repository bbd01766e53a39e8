#!/bin/sh
# A warm car for the morning drive, in two steps:
#
#   morning-precondition.sh arm     in the evening: make sure the car holds its
#                                   own schedule (ready at 06:30, 21 °C). The car
#                                   runs it itself, so the morning needs no request
#                                   at all — it works when the vehicle API is down.
#                                   Cheap and safe every evening: the car is read,
#                                   and armed only when the schedule is missing.
#   morning-precondition.sh         in the morning: nothing to do when the car holds
#                                   the schedule; otherwise (a car that could not be
#                                   armed) the direct command as before: wake it,
#                                   21 °C, climate on, vent.
#
# A schedule someone changed on the car (in the app) is left as it is: the
# evening step logs the difference and the command that would replace it.
#
# Meant for cron, a systemd timer or launchd: it never prompts, never colours,
# and says in one log line what happened (on a paid vehicle API such as
# Tesla's Fleet API, with what the run cost and the month so far). When the
# vehicle API is failing, carctl queues the steps; the script then waits for
# them (until the deadline) and logs one more line per step: delivered, or
# expired unsent.
# Exit codes (carctl's):
#   0   done, confirmed by the car (or delivered later from the queue)
#   1   a queued step expired unsent or was refused (the log says which)
#   75  queued and still waiting when the script stopped waiting
#       (CARCTL_WAIT=0: do not wait; the background worker still delivers)
#   77  signed out: run `carctl auth login` once on this machine; or the
#       month's spending cap on a paid vehicle API is reached (the log says so)
#   other: failed (the log line says why)
#
# Settings (environment):
#   CARCTL           the carctl executable (default: carctl on PATH; give the
#                    full path under cron, e.g. $HOME/.venv/bin/carctl)
#   CARCTL_TEMP      cabin temperature (default 21; 70F works too)
#   CARCTL_READY     when the cabin should be ready, the car's time (default 06:30)
#   CARCTL_DAYS      the schedule's days (default weekdays; all, or mon,wed,fri)
#   CARCTL_DEADLINE  give up at this time of day (default 06:45); a run that
#                    starts after it sends nothing and logs "skipped"
#   CARCTL_JITTER    wait a random 0..N seconds first, so that not every car
#                    in the world asks at exactly 06:00 (default 0)
#   CARCTL_MORNING_LOG  the log file (default $XDG_STATE_HOME or
#                    ~/.local/state, then carctl/morning.log)
#   CARCTL_WAIT      1 (default): after queueing, wait for the outcome and log
#                    it; 0: exit 75 at once
#   CARCTL_IF_BELOW  only when the car reads an outside temperature below this
#                    (e.g. 5, or 41F); otherwise the run logs "skipped" and sends
#                    nothing (default: always)
#   CARCTL_VEHICLE   which car, when the account has several (or set it once
#                    with `carctl config set vehicle "Model 3"`)

set -u

mode=${1:-morning}
carctl=${CARCTL:-carctl}
temp=${CARCTL_TEMP:-21}
ready=${CARCTL_READY:-06:30}
days=${CARCTL_DAYS:-weekdays}
deadline=${CARCTL_DEADLINE:-06:45}
jitter=${CARCTL_JITTER:-0}
wait_outcome=${CARCTL_WAIT:-1}
if_below=${CARCTL_IF_BELOW:+--if-below $CARCTL_IF_BELOW}
log_file=${CARCTL_MORNING_LOG:-${XDG_STATE_HOME:-$HOME/.local/state}/carctl/morning.log}
# the evening step writes here the morning (car-local date) the car will warm itself
armed_file=$(dirname "$log_file")/morning.armed

mkdir -p "$(dirname "$log_file")"

log() {
    printf '%s %s\n' "$(date '+%Y-%m-%d %H:%M:%S')" "$*" >>"$log_file"
}

# --json: one document on stdout, carctl's contract for scripts (docs/scripting.md, "Output
# and exit codes"); field NAME reads a string member of it.
answer=$(mktemp "${TMPDIR:-/tmp}/carctl-morning.XXXXXX")
trap 'rm -f "$answer"' EXIT
field() {
    sed -E -n "s/.*\"$1\": \"(([^\"\\\\]|\\\\.)*)\".*/\1/p" "$answer" | head -n 1 |
        sed 's/\\"/"/g'
}

if [ "$mode" = arm ]; then
    "$carctl" --json schedule set "$ready" --days "$days" --temp "$temp" --if-missing \
        </dev/null >"$answer" 2>/dev/null
    code=$?
    reason=$(field summary)
    [ -n "$reason" ] || reason=$(field message)
    next=$(field next_ready_local) # e.g. 2021-11-20T06:30+09:00
    case $code in
    0)
        case $(field state) in
        armed) log "armed: $days, ready at $ready, $temp; the car warms itself at $next" ;;
        already) log "armed already: $days, ready at $ready; next at $next" ;;
        differs) log "the car holds a different schedule (changed in the app?), left as it" \
            "is; it runs at $next. To replace it: $(field replace_with)" ;;
        esac
        printf '%s\n' "${next%%T*}" >"$armed_file"
        ;;
    75) log "queued: arming waits for the vehicle API ($reason); if it is not armed by" \
        "morning, the morning step sends the command itself" ;;
    77) log "signed out: $reason; run 'carctl auth login' on this machine" ;;
    *) log "arming failed ($code): $reason" ;;
    esac
    exit $code
fi

# The car holds this morning's schedule: it warms itself; nothing to send.
if [ -f "$armed_file" ] && [ "$(cat "$armed_file")" = "$(date +%Y-%m-%d)" ]; then
    log "nothing to send: the car warms itself this morning (armed the evening before)"
    exit 0
fi

if [ "$jitter" -gt 0 ] 2>/dev/null; then
    random=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
    sleep $((random % (jitter + 1)))
fi

# A late start (a laptop opened at 09:00, a systemd timer catching up with
# Persistent=true) must not warm the car for a drive that has already left.
case $deadline in
[0-2][0-9]:[0-5][0-9])
    if [ "$(date +%H%M)" -ge "$(printf '%s' "$deadline" | tr -d :)" ]; then
        log "skipped: past the $deadline deadline; nothing was sent"
        exit 0
    fi
    ;;
esac

# What the month's calls to a paid vehicle API have cost so far (US$; empty when the
# profile's API is not billed, such as the built-in mock): `carctl usage` reads carctl's
# own ledger, with no request.
spent() {
    "$carctl" --json usage </dev/null 2>/dev/null |
        sed -n 's/.*"cost": \([0-9.e-]*\), "discount": \([0-9.e-]*\), "due".*"limit": \([0-9.e-]*\|null\).*/\1 \3/p'
}
cost_note() { # " (US$0.043; this month US$0.95 of the US$10.00 cap)", or nothing
    [ -n "$before" ] || return 0
    after=$(spent)
    [ -n "$after" ] || return 0
    printf '%s %s\n' "$before" "$after" | awk '{
        cap = ($4 == "null") ? "" : sprintf(" of the US$%.2f cap", $4)
        printf " (this run US$%.3f; this month US$%.2f%s)", $3 - $1, $3, cap }'
}
before=$(spent)

# No schedule on the car for this morning: the direct command, as before. The
# answer holds the reason, and the IDs of the queued steps to wait for.
# shellcheck disable=SC2086 # $if_below is the option and its value, or nothing
"$carctl" --json precondition --temp "$temp" --vent --expires-at "$deadline" $if_below \
    </dev/null >"$answer" 2>/dev/null
code=$?
reason=$(field summary) # why it is queued, in the owner's words
[ -n "$reason" ] || reason=$(field message)
ids=$(sed -n 's/.*"queued": {"ids": \[\([0-9, ]*\)\].*/\1/p' "$answer" | tr -d ,)
# what carctl warned of (the month's spending nearing its cap, once a day): in the log too
warning=$(sed -E -n 's/.*"warnings": \["(([^"\\]|\\.)*)".*/\1/p' "$answer" | sed 's/\\"/"/g')
[ -z "$warning" ] || log "warning: $warning"

case $code in
0)
    if grep -q '"skipped": {' "$answer"; then
        outside=$(sed -n 's/.*"skipped": {"outside_temp": \(-\{0,1\}[0-9.]*\).*/\1/p' "$answer")
        below=$(sed -n 's/.*"skipped": {[^}]*"if_below": \(-\{0,1\}[0-9.]*\).*/\1/p' "$answer")
        log "skipped: $outside °C outside, not below $below °C; nothing was sent$(cost_note)"
    else
        log "ok: preconditioning to $temp with the windows vented$(cost_note)"
    fi
    ;;
75)
    log "queued: the vehicle API is failing ($reason); carctl delivers it before $deadline"
    if [ "$wait_outcome" = 1 ] && [ -n "$ids" ]; then
        # one log line per queued step as it is delivered or expires (at the deadline);
        # by ID, so that a step the worker delivered before this began is logged too
        status=$(mktemp "${TMPDIR:-/tmp}/carctl-status.XXXXXX")
        # shellcheck disable=SC2086 # the IDs are words
        { "$carctl" queue wait $ids </dev/null 2>/dev/null; echo $? >"$status"; } |
            while IFS= read -r line; do log "queue: $line"; done
        code=$(cat "$status")
        rm -f "$status"
    fi
    ;;
77)
    case $(field code) in
    usage_cap) log "not sent: $reason; 'carctl usage' shows the month$(cost_note)" ;;
    *) log "signed out: $reason; run 'carctl auth login' on this machine" ;;
    esac
    ;;
*) log "failed ($code): $reason$(cost_note)" ;;
esac
exit $code

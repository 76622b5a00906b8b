#!/usr/bin/env bash
# Entrypoint of kestractl-test/postgres:15. It honours the environment contract of the official
# postgres image (docker-library/postgres), which kestractl relies on:
#
#   POSTGRES_PASSWORD / POSTGRES_PASSWORD_FILE   superuser password (required to initialise unless
#                                                POSTGRES_HOST_AUTH_METHOD=trust)
#   POSTGRES_USER / POSTGRES_USER_FILE           superuser name, default "postgres"
#   POSTGRES_DB / POSTGRES_DB_FILE               database created at initialisation, default = user
#   POSTGRES_INITDB_ARGS(_FILE)                  extra initdb arguments
#   POSTGRES_HOST_AUTH_METHOD                    auth method of the "host all all all" rule,
#                                                default password_encryption (scram-sha-256)
#   PGDATA                                       cluster directory, default /var/lib/postgresql/data
#   /docker-entrypoint-initdb.d/*.sh|*.sql|*.sql.gz   run once, at initialisation
#
# X_FILE means "read X from this file" (Docker secrets); setting both X and X_FILE is an error.
# Initialisation happens only when $PGDATA/PG_VERSION is missing: changing the password in the
# environment later does not change an existing cluster's password.
#
# Started as root, it creates the directories, fixes their ownership and re-executes itself as the
# "postgres" user with setpriv (util-linux; the official image uses gosu). The last exec replaces it
# with the server, so postgres is PID 1 and receives the stop signal (SIGINT = fast shutdown).
# The password travels only through the environment between the two passes and a pipe to initdb;
# it is removed from the environment before the server starts, so it is never in argv, in
# /proc/<pid>/environ of the server, or in `docker inspect` when the _FILE form is used.
set -Eeuo pipefail

file_env() {
    local var=$1 def=${2:-}
    local file_var=${var}_FILE
    if [[ -n ${!var:-} && -n ${!file_var:-} ]]; then
        printf >&2 'error: both %s and %s are set (but are exclusive)\n' "$var" "$file_var"
        exit 1
    fi
    local val=$def
    if [[ -n ${!var:-} ]]; then
        val=${!var}
    elif [[ -n ${!file_var:-} ]]; then
        if [[ ! -r ${!file_var} ]]; then
            printf >&2 'error: %s=%s is not a readable file\n' "$file_var" "${!file_var}"
            exit 1
        fi
        val=$(<"${!file_var}")
    fi
    export "$var=$val"
    unset "$file_var"
}

setup_env() {
    file_env POSTGRES_PASSWORD
    file_env POSTGRES_USER postgres
    file_env POSTGRES_DB "$POSTGRES_USER"
    file_env POSTGRES_INITDB_ARGS
    export POSTGRES_HOST_AUTH_METHOD=${POSTGRES_HOST_AUTH_METHOD:-}
    export PGDATA=${PGDATA:-/var/lib/postgresql/data}
    DATABASE_ALREADY_EXISTS=
    if [[ -s $PGDATA/PG_VERSION ]]; then
        DATABASE_ALREADY_EXISTS=true
    fi
}

create_db_directories() {
    mkdir -p "$PGDATA"
    chmod 0700 "$PGDATA" || :
    mkdir -p /var/run/postgresql || :
    chmod 03775 /var/run/postgresql || :
    if [[ -n ${POSTGRES_INITDB_WALDIR:-} ]]; then
        mkdir -p "$POSTGRES_INITDB_WALDIR"
        [[ $(id -u) == 0 ]] && find "$POSTGRES_INITDB_WALDIR" \! -user postgres -exec chown postgres: '{}' +
        chmod 0700 "$POSTGRES_INITDB_WALDIR"
    fi
    if [[ $(id -u) == 0 ]]; then
        find "$PGDATA" \! -user postgres -exec chown postgres: '{}' +
        find /var/run/postgresql \! -user postgres -exec chown postgres: '{}' +
    fi
}

verify_minimum_env() {
    if [[ -z $POSTGRES_PASSWORD && $POSTGRES_HOST_AUTH_METHOD != trust ]]; then
        cat >&2 <<-'EOE'
			Error: Database is uninitialized and superuser password is not specified.
			       You must specify POSTGRES_PASSWORD to a non-empty value for the
			       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".

			       You may also use "POSTGRES_HOST_AUTH_METHOD=trust" to allow all
			       connections without a password. This is *not* recommended.

			       See PostgreSQL documentation about "trust":
			       https://www.postgresql.org/docs/current/auth-trust.html
		EOE
        exit 1
    fi
    if [[ $POSTGRES_HOST_AUTH_METHOD == trust ]]; then
        printf >&2 'WARNING: POSTGRES_HOST_AUTH_METHOD has been set to "trust": any client that reaches the port gets in without a password.\n'
    fi
}

init_database_dir() {
    local args=()
    if [[ -n ${POSTGRES_INITDB_WALDIR:-} ]]; then
        args+=(--waldir "$POSTGRES_INITDB_WALDIR")
    fi
    # The password reaches initdb through a pipe (never argv). initdb refuses an empty file, hence "\n".
    # POSTGRES_INITDB_ARGS is evaluated like the official image does, so quoted arguments work.
    eval 'initdb --username="$POSTGRES_USER" --pwfile=<(printf "%s\n" "$POSTGRES_PASSWORD") '"$POSTGRES_INITDB_ARGS"' "${args[@]}"'
}

setup_hba_conf() {
    [[ ${1:-} == postgres ]] && shift
    local auth
    auth=$(postgres -C password_encryption "$@") # scram-sha-256 unless configured otherwise
    POSTGRES_HOST_AUTH_METHOD=${POSTGRES_HOST_AUTH_METHOD:-$auth}
    {
        printf '\n'
        if [[ $POSTGRES_HOST_AUTH_METHOD == trust ]]; then
            printf '# warning trust is enabled for all connections\n'
        fi
        printf 'host all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD"
    } >>"$PGDATA/pg_hba.conf"
}

process_sql() {
    local runner=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc)
    if [[ -n $POSTGRES_DB ]]; then
        runner+=(--dbname "$POSTGRES_DB")
    fi
    PGHOST='' PGHOSTADDR='' "${runner[@]}" "$@"
}

temp_server_start() {
    [[ ${1:-} == postgres ]] && shift
    # socket only: nothing outside the container can connect while the cluster is being set up
    set -- "$@" -c listen_addresses='' -p "${PGPORT:-5432}"
    PGUSER=${PGUSER:-$POSTGRES_USER} pg_ctl -D "$PGDATA" -o "$(printf '%q ' "$@")" -w start
}

temp_server_stop() {
    PGUSER=${PGUSER:-postgres} pg_ctl -D "$PGDATA" -m fast -w stop
}

setup_db() {
    local exists
    # POSTGRES_DB='' for psql's own connection, while :db gets the real name (expanded first)
    # shellcheck disable=SC2097,SC2098
    exists=$(POSTGRES_DB='' process_sql --dbname postgres --set db="$POSTGRES_DB" --tuples-only <<-'EOSQL'
		SELECT 1 FROM pg_database WHERE datname = :'db' ;
	EOSQL
    )
    if [[ -z $exists ]]; then
        # shellcheck disable=SC2097,SC2098
        POSTGRES_DB='' process_sql --dbname postgres --set db="$POSTGRES_DB" <<-'EOSQL'
			CREATE DATABASE :"db" ;
		EOSQL
    fi
}

process_init_files() {
    local f
    for f in "$@"; do
        case $f in
            *.sh)
                if [[ -x $f ]]; then
                    printf '%s: running %s\n' "$0" "$f"
                    "$f"
                else
                    printf '%s: sourcing %s\n' "$0" "$f"
                    # shellcheck disable=SC1090
                    . "$f"
                fi
                ;;
            *.sql) printf '%s: running %s\n' "$0" "$f"; process_sql -f "$f" ;;
            *.sql.gz) printf '%s: running %s\n' "$0" "$f"; gunzip -c "$f" | process_sql ;;
            *) [[ -e $f ]] && printf '%s: ignoring %s\n' "$0" "$f" ;;
        esac
    done
}

want_help() {
    local arg
    for arg; do
        case $arg in
            -'?' | --help | --describe-config | -V | --version) return 0 ;;
        esac
    done
    return 1
}

main() {
    # first argument looks like a flag: run the server with those flags
    if [[ ${1:-} == -* ]]; then
        set -- postgres "$@"
    fi

    if [[ ${1:-} == postgres ]] && ! want_help "$@"; then
        setup_env
        create_db_directories
        if [[ $(id -u) == 0 ]]; then
            # drop root: same script again as "postgres" (uid, gid and its supplementary groups)
            export HOME=/var/lib/postgresql
            exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
        fi

        if [[ -z $DATABASE_ALREADY_EXISTS ]]; then
            verify_minimum_env
            ls /docker-entrypoint-initdb.d/ >/dev/null # fail early on an unreadable directory
            init_database_dir
            setup_hba_conf "$@"
            export PGPASSWORD=${PGPASSWORD:-$POSTGRES_PASSWORD}
            temp_server_start "$@"
            setup_db
            shopt -s nullglob
            process_init_files /docker-entrypoint-initdb.d/*
            shopt -u nullglob
            temp_server_stop
            unset PGPASSWORD
            printf '\nPostgreSQL init process complete; ready for start up.\n\n'
        else
            printf '\nPostgreSQL Database directory appears to contain a database; Skipping initialization\n\n'
        fi
        # the server needs none of this; keep it out of its environment
        unset POSTGRES_PASSWORD PGPASSWORD
    fi

    exec "$@"
}

main "$@"

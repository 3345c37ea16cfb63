#ifndef HALLSYNC_CPOSTGRES_SHIM_H
#define HALLSYNC_CPOSTGRES_SHIM_H

/*
 * libpq's headers live in /usr/include/postgresql on Debian (package libpq-dev). A system
 * library target cannot pass -I itself: the target declares `pkgConfig: "libpq"`, and SwiftPM
 * adds `pkg-config --cflags libpq` (-I/usr/include/postgresql) to every module that imports
 * this one. Without pkg-config, the header is found through its directory under
 * /usr/include; libpq-fe.h includes its siblings with quotes, so that works too.
 */
#if __has_include(<libpq-fe.h>)
#include <libpq-fe.h>
#else
#include <postgresql/libpq-fe.h>
#endif

/*
 * The PG_DIAG_* field codes are character-literal macros ('C', 'M', …), which Swift does not
 * import. The same codes as enumerators, for PQresultErrorField.
 */
enum {
    HALLSYNC_PG_DIAG_SQLSTATE = PG_DIAG_SQLSTATE,
    HALLSYNC_PG_DIAG_MESSAGE_PRIMARY = PG_DIAG_MESSAGE_PRIMARY,
    HALLSYNC_PG_DIAG_MESSAGE_HINT = PG_DIAG_MESSAGE_HINT,
    HALLSYNC_PG_DIAG_SCHEMA_NAME = PG_DIAG_SCHEMA_NAME,
    HALLSYNC_PG_DIAG_TABLE_NAME = PG_DIAG_TABLE_NAME,
    HALLSYNC_PG_DIAG_COLUMN_NAME = PG_DIAG_COLUMN_NAME,
    HALLSYNC_PG_DIAG_DATATYPE_NAME = PG_DIAG_DATATYPE_NAME,
    HALLSYNC_PG_DIAG_CONSTRAINT_NAME = PG_DIAG_CONSTRAINT_NAME,
};

/*
 * By default libpq prints every NOTICE and WARNING the server sends to stderr ("relation …
 * already exists, skipping" for each CREATE TABLE IF NOT EXISTS). hallsync logs through its
 * own logger, never to a bare stderr, so notices are dropped.
 */
static inline void hallsync_pq_notice_ignore(void *arg, const char *message) {
    (void)arg; (void)message;
}

static inline void hallsync_pq_ignore_notices(PGconn *conn) {
    PQsetNoticeProcessor(conn, hallsync_pq_notice_ignore, NULL);
}

#endif

/*
 * projector.h — applies the sequenced log to the registered projections.
 * See projector.cpp for the transaction each batch runs in and why it is
 * exactly once.
 */
#ifndef EVENTSTORE_WORKER_PROJECTOR_H
#define EVENTSTORE_WORKER_PROJECTOR_H

#include "pg/pg_includes.h"

namespace eventstore::worker {

struct ProjectorRound {
    bool extension_missing; /* nothing was done */
    bool more_to_do;        /* some projection is still behind: run again at once */
};

/*
 * One round over every active projection: at most one batch each (and one
 * batch of its rebuild), so one busy projection cannot starve the others.
 * Runs its own short transactions; call outside any.
 */
ProjectorRound project_once(int64 sequenced_position);

}  // namespace eventstore::worker

#endif

-- Accounting periods: policies, the late-event rule, the exception workflow
-- and the views (docs/periods.md).  The worker's period clock runs against
-- real time; the periods here lie far enough in the past or are moved by
-- hand (close_period, reopen_period, run_period_clock with a given time), so
-- the clock never moves them under the test.  The books are counted by the
-- worker; the test counts them itself too (count_period_books), which is
-- the same step and safe to run alongside the worker.
SET timezone = 'UTC';
CREATE PROCEDURE count_books() LANGUAGE plpgsql AS $$
BEGIN
    PERFORM eventstore.wait_for_position((SELECT count(*) FROM eventstore.events), '30 seconds');
    -- Counts itself; while the worker holds the books' row, waits for it instead.
    FOR attempt IN 1..3000 LOOP
        PERFORM eventstore.count_period_books(100000);
        EXIT WHEN (SELECT counted_through FROM eventstore.period_books_state)
                  >= (SELECT coalesce(max(global_position), 0) FROM eventstore.log_positions);
        PERFORM pg_sleep(0.01);
    END LOOP;
END
$$;

-- Bad input: 22023 (42704 for an unknown category on drop), nothing registered.
SELECT test_error($$SELECT eventstore.set_period_policy('till', 'fortnight')$$);
SELECT test_error($$SELECT eventstore.set_period_policy('till', 'month', 'Mars/Olympus_Mons')$$);
SELECT test_error($$SELECT eventstore.set_period_policy('till', 'month', 'UTC', '-1 day')$$);
SELECT test_error($$SELECT eventstore.set_period_policy('till', 'month', 'UTC', '3 days', '2 days')$$);
SELECT test_error($$SELECT eventstore.set_period_policy('till-1')$$);
SELECT test_error($$SELECT eventstore.set_period_policy(NULL)$$);
SELECT test_error($$SELECT eventstore.set_period_policy('till', amount_path => '{}')$$);
SELECT test_error($$SELECT eventstore.drop_period_policy('till')$$);
SELECT count(*) AS policies FROM eventstore.period_policies;

-- Period arithmetic happens in the policy's time zone.
SELECT eventstore.period_start_of('month', 'America/New_York', '2025-03-01 03:00+00') AS ny_february,
       eventstore.period_end_of('month', 'America/New_York', '2025-02-01 05:00+00') AS ny_february_end,
       eventstore.period_start_of('week', 'UTC', '2025-01-01 12:00+00') AS iso_week,
       eventstore.period_end_of('quarter', 'UTC', '2025-01-01 00:00+00') AS quarter_end,
       eventstore.period_end_of('day', 'Europe/Berlin', '2025-03-29 23:00+00') AS short_day_end;

-- A till category with monthly periods that the real clock soft-closes and
-- closes twenty years after they end (so it leaves 2025 alone); amounts at
-- data.amount.
SELECT eventstore.set_period_policy('till', 'month', 'UTC', '7300 days', '7300 days', '{amount}');
SELECT category, period, time_zone, soft_close_after, max_delay, amount_path FROM eventstore.period_policies;
-- Periods that had passed max_delay when the policy was made are closed.
SELECT closed_through = date_trunc('month', now() - interval '7300 days') AS horizon_is_max_delay_ago
FROM eventstore.period_policies;

-- Open periods: ordinary events.
SELECT eventstore.append('till-1', 'Sold', '{"amount": 100}', event_time => '2025-01-10 09:00+00');
SELECT eventstore.append('till-1', 'Sold', '{"amount": 50}', event_time => '2025-01-20 09:00+00');
SELECT eventstore.append('till-2', 'Sold', '{"amount": 30}', event_time => '2025-02-03 09:00+00');
SELECT count(*) AS late_events FROM eventstore.late_events;

-- Close January; an event for it now arrives late: stored, pending.
SELECT eventstore.close_period('till', '2025-01-01 00:00+00', 'January books done');
SELECT test_error($$SELECT eventstore.close_period('till', '2025-01-01 00:00+00', 'again')$$);
SELECT eventstore.append('till-2', 'Sold', '{"amount": 7}', event_time => '2025-01-31 23:59+00') AS late_version;
SELECT id, stream_id, stream_version, period_start, period_end, arrived_in, status FROM eventstore.late_events;
-- A retried call is the same event: no second late record.
SELECT eventstore.append('till-2', 'Sold', '{"amount": 8}', event_id => 'c0ffee00-0000-4000-8000-000000000001',
                         event_time => '2025-01-15 10:00+00');
SELECT eventstore.append('till-2', 'Sold', '{"amount": 8}', event_id => 'c0ffee00-0000-4000-8000-000000000001',
                         event_time => '2025-01-15 10:00+00');
SELECT count(*) AS late_events FROM eventstore.late_events;

-- A batch that straddles: each event judged on its own time.
SELECT eventstore.append_batch('till-3', ARRAY[
    ROW(NULL, 'Sold', '{"amount": 1}', NULL, '2025-01-05 00:00+00', 1)::eventstore.new_event,
    ROW(NULL, 'Sold', '{"amount": 2}', NULL, '2025-02-05 00:00+00', 1)::eventstore.new_event,
    ROW(NULL, 'Sold', '{"amount": 4}', NULL, '2000-01-05 00:00+00', 1)::eventstore.new_event]);
SELECT stream_id, stream_version, period_start, arrived_in, status FROM eventstore.late_events ORDER BY id;

-- The clock: a shift category with daily periods, soft-closed a day after
-- they end and closed three days after.  Told it is two days from now, it
-- soft-closes yesterday and today and closes the days before; a person's
-- close or reopen is left alone.  An event for a soft-closed day is
-- accepted: counted there, recorded for review.
SELECT eventstore.set_period_policy('shift', 'day', 'UTC', '1 day', '3 days', '{amount}');
SELECT closed_through = date_trunc('day', now() - interval '3 days') AS horizon FROM eventstore.period_policies
WHERE category = 'shift';
SELECT eventstore.reopen_period('shift', date_trunc('day', now() - interval '4 days'), 'late till slips');
SELECT eventstore.run_period_clock(date_trunc('day', now()) + interval '2 days 1 hour', 'shift') AS moves;
SELECT (period_start - date_trunc('day', now())) AS day, state, soft_closed_at IS NOT NULL AS soft_closed,
       closed_at IS NOT NULL AS closed
FROM eventstore.periods WHERE category = 'shift' ORDER BY period_start;
SELECT eventstore.run_period_clock(date_trunc('day', now()) + interval '2 days 1 hour', 'shift') AS moves_again;
SELECT closed_through = date_trunc('day', now() - interval '1 day') AS horizon_moved FROM eventstore.period_policies
WHERE category = 'shift';
SELECT eventstore.append('shift-1', 'Sold', '{"amount": 9}', event_time => now());
SELECT eventstore.append('shift-1', 'Sold', '{"amount": 3}', event_time => now() - interval '4 days');
SELECT stream_id, stream_version, period_start = date_trunc('day', now()) AS today, arrived_in, status
FROM eventstore.late_events WHERE category = 'shift' ORDER BY id;

-- Applications cannot write the audit trail, nor any stream of its category.
SELECT test_error($$SELECT eventstore.append('$period-till', 'PeriodClosed', '{}')$$);
SELECT test_error($$SELECT eventstore.append('$period', 'LateEventRejected', '{"late_event_id": 1}')$$);
SELECT event_type, data->>'reason' AS reason, data->>'to_state' AS to_state
FROM eventstore.events WHERE stream_id = '$period-till' AND event_type <> 'PeriodSoftClosed' ORDER BY stream_version;

-- The books.
CALL count_books();
SELECT period_start, state, events, amount, counted_events, counted_amount, late_events, open_exceptions
FROM eventstore.period_totals WHERE category = 'till' ORDER BY period_start;
-- As closed: January counted what it had at the close, not the late ones.
SELECT period_start, events, amount, close_position = (SELECT max(p.global_position) FROM eventstore.log_positions p
        JOIN eventstore.events e USING (stream_id, stream_version)
        WHERE e.stream_id = '$period-till' AND e.event_type = 'PeriodClosed') AS close_position_is_the_record,
       close_hash = (SELECT ledger_hash FROM eventstore.log_positions WHERE global_position = close_position) AS close_hash_is_the_ledger
FROM eventstore.period_totals_as_closed WHERE category = 'till';

-- The exception workflow.
SELECT id AS late_jan FROM eventstore.late_events WHERE stream_id = 'till-2' AND stream_version = 2 \gset
SELECT id AS late_jan_retried FROM eventstore.late_events WHERE stream_id = 'till-2' AND stream_version = 3 \gset
SELECT id AS late_batch FROM eventstore.late_events WHERE stream_id = 'till-3' AND stream_version = 1 \gset
SELECT id AS accepted_today FROM eventstore.late_events WHERE stream_id = 'shift-1' AND stream_version = 1 \gset
SELECT test_error($$SELECT eventstore.resolve_late_event(999999, 'reject', 'no such')$$);
SELECT test_error(format($$SELECT eventstore.resolve_late_event(%s, 'ignore', 'no')$$, :late_jan));
SELECT test_error(format($$SELECT eventstore.resolve_late_event(%s, 'reopen', 'not reopened yet')$$, :late_jan));
SELECT test_error(format($$SELECT eventstore.resolve_late_event(%s, 'post_to_open_period', 'counted already')$$,
                         :accepted_today));
-- Post a correction into the open period: a CorrectionApplied in the event's stream.
SELECT eventstore.resolve_late_event(:late_jan, 'post_to_open_period', 'branch was offline') AS correction_version;
SELECT event_type, data->>'original_period_start' AS original_period, data->'original_data' AS original_data,
       metadata->>'causation_id' = (SELECT event_id::text FROM eventstore.late_events WHERE id = :late_jan) AS caused_by_late
FROM eventstore.events WHERE stream_id = 'till-2' AND stream_version = 4;
SELECT test_error(format($$SELECT eventstore.resolve_late_event(%s, 'reject', 'twice')$$, :late_jan));
-- Reject one; reopen January and accept the other into it; re-close.
SELECT eventstore.resolve_late_event(:late_batch, 'reject', 'duplicate of a February sale') > 0 AS rejected;
SELECT eventstore.reopen_period('till', '2025-01-01 00:00+00', 'audit adjustment');
SELECT test_error($$SELECT eventstore.reopen_period('till', '2025-01-01 00:00+00', 'again')$$);
SELECT eventstore.resolve_late_event(:late_jan_retried, 'reopen', 'belongs in January') > 0 AS accepted;
SELECT eventstore.close_period('till', '2025-01-01 00:00+00', 'January books done again');
SELECT eventstore.resolve_late_event(:accepted_today, 'reject', 'test sale') > 0 AS rejected;
SELECT id - :late_jan AS late_event, status, action, note, resolved_by, correction_version IS NOT NULL AS has_correction
FROM eventstore.late_events ORDER BY id;
CALL count_books();
SELECT period_start, state, events, amount, counted_events, counted_amount, late_events, open_exceptions
FROM eventstore.period_totals WHERE category = 'till' ORDER BY period_start;
SELECT period_start, events, amount FROM eventstore.period_totals_as_closed WHERE category = 'till';
SELECT period_start, stream_id, stream_version, amount, status, action, correction_version,
       correction_period_start = date_trunc('month', now()) AS corrected_this_month
FROM eventstore.period_corrections WHERE category = 'till' ORDER BY late_event_id;
-- The corrections count where they were posted.
SELECT counted_amount FROM eventstore.period_totals WHERE category = 'till' AND period_start = date_trunc('month', now());

-- verify_all covers the closes: a close record rewritten in the table shows.
SELECT ok FROM eventstore.verify_all();
UPDATE eventstore.period_states SET close_hash = '\x00' WHERE category = 'till' AND state = 'closed';
SELECT stream_id, ok, first_bad_version > 0 AS at_a_version, left(detail, 60) AS detail FROM eventstore.verify_all()
WHERE NOT ok;
UPDATE eventstore.period_states s SET close_hash = lp.ledger_hash
FROM eventstore.log_positions lp WHERE lp.global_position = s.close_position AND s.category = 'till';
SELECT ok FROM eventstore.verify_all();

-- Roles: a writer appends (and makes late events) but cannot change periods
-- or resolve; readers read the views.
CREATE ROLE period_writer LOGIN IN ROLE eventstore_writer;
CREATE ROLE period_reader LOGIN IN ROLE eventstore_reader;
SET ROLE period_writer;
SELECT eventstore.append('till-5', 'Sold', '{"amount": 3}', event_time => '2025-01-02 00:00+00') AS late_by_writer;
SELECT test_error($$SELECT eventstore.close_period('till', '2025-03-01 00:00+00', 'not mine')$$);
SELECT test_error($$SELECT eventstore.resolve_late_event(1, 'reject', 'not mine')$$);
SELECT test_error($$SELECT eventstore.set_period_policy('cash')$$);
SELECT test_error($$SELECT eventstore.run_period_clock('2100-01-01')$$);
SELECT test_error($$SELECT count(*) FROM eventstore.late_events$$);
RESET ROLE;
-- An admin closes with a reason; running the clock ahead is for superusers.
CREATE ROLE period_admin LOGIN IN ROLE eventstore_admin;
SET SESSION AUTHORIZATION period_admin;
SELECT test_error($$SELECT eventstore.run_period_clock(now() + interval '1 year')$$);
SELECT eventstore.run_period_clock() >= 0 AS clock_at_the_time;
RESET SESSION AUTHORIZATION;
DROP ROLE period_admin;
SET ROLE period_reader;
SELECT count(*) > 0 AS reader_sees_periods FROM eventstore.periods;
SELECT count(*) > 0 AS reader_sees_corrections FROM eventstore.period_corrections;
RESET ROLE;

-- A transaction that changed periods cannot be prepared.
BEGIN;
SELECT eventstore.close_period('till', '2025-03-01 00:00+00', 'prepared');
PREPARE TRANSACTION 'period_close';
SELECT state FROM eventstore.periods WHERE category = 'till' AND period_start = '2025-03-01 00:00+00';

-- The period and time zone of a category with period rows do not change;
-- the intervals do.
SELECT test_error($$SELECT eventstore.set_period_policy('till', 'day', 'UTC', '7300 days', '7300 days', '{amount}')$$);
SELECT eventstore.set_period_policy('till', 'month', 'UTC', '7300 days', '7400 days', '{amount}');
SELECT max_delay FROM eventstore.period_policies WHERE category = 'till';
-- Changing the policy keeps the books (resolutions included); a new
-- amount_path counts them again, replaying the resolutions in log order.
CALL count_books();
SELECT period_start, events, amount, counted_events, counted_amount FROM eventstore.period_totals
WHERE category = 'till' ORDER BY period_start;
SELECT eventstore.set_period_policy('till', 'month', 'UTC', '7300 days', '7400 days', '{price}');
SELECT eventstore.set_period_policy('till', 'month', 'UTC', '7300 days', '7400 days', '{amount}');
CALL count_books();
SELECT period_start, events, amount, counted_events, counted_amount FROM eventstore.period_totals
WHERE category = 'till' ORDER BY period_start;
SELECT period_start, events, amount FROM eventstore.period_totals_as_closed WHERE category = 'till';
-- A new policy counts the category's past into its books.
SELECT eventstore.append('cash-1', 'Counted', '{"amount": 5}', event_time => '2025-05-05 00:00+00');
SELECT eventstore.wait_for_position((SELECT count(*) FROM eventstore.events), '30 seconds') AS sequenced;
SELECT eventstore.set_period_policy('cash', 'year', 'UTC', '7300 days', '7300 days');
CALL count_books();
SELECT period_start, events, amount FROM eventstore.period_totals WHERE category = 'cash' ORDER BY period_start;
-- A policy set in the transaction that appends applies to its appends; one
-- rolled back applies to nothing.
BEGIN;
SELECT eventstore.set_period_policy('coin', 'month');
SELECT eventstore.append('coin-1', 'Found', '{}', event_time => '2020-01-01') AS in_the_same_transaction;
SELECT count(*) AS late_in_the_same_transaction FROM eventstore.late_events WHERE category = 'coin';
ROLLBACK;
SELECT eventstore.append('coin-1', 'Found', '{}', event_time => '2020-01-01') AS after_the_rollback;
SELECT count(*) AS late_after_the_rollback FROM eventstore.late_events WHERE category = 'coin';
-- A dropped and re-made policy starts clean: late events and resolutions
-- recorded under the old one no longer count, and cannot be resolved.
SELECT eventstore.set_period_policy('wk', 'week');
SELECT eventstore.append('wk-1', 'Paid', '{}', event_time => '2020-01-01') AS late_under_weeks,
       eventstore.append('wk-1', 'Paid', '{}', event_time => '2020-01-02') AS also_late;
SELECT eventstore.resolve_late_event(id, 'reject', 'mistake') > 0 AS rejected
FROM eventstore.late_events WHERE stream_id = 'wk-1' AND stream_version = 1;
SELECT eventstore.drop_period_policy('wk');
SELECT eventstore.set_period_policy('wk', 'month', 'UTC', '7300 days', '7300 days');
CALL count_books();
SELECT period_start, state, events, counted_events, late_events, open_exceptions
FROM eventstore.period_totals WHERE category = 'wk' ORDER BY period_start;
SELECT test_error(format($$SELECT eventstore.resolve_late_event(%s, 'reject', 'old')$$, id))
FROM eventstore.late_events WHERE stream_id = 'wk-1' AND stream_version = 2;
SELECT eventstore.drop_period_policy('wk');
-- Dropping the policy keeps the records (late events, the audit trail).
SELECT eventstore.drop_period_policy('cash');
SELECT count(*) AS cash_periods FROM eventstore.periods WHERE category = 'cash';
SELECT eventstore.drop_period_policy('shift');
DROP ROLE period_writer, period_reader;

/*
 * consume_events.js — pg_eventstore as a Node.js application meets it:
 * events appended with node-postgres (`pg`), read back from Kafka with
 * kafkajs, the two most used Node.js clients.  Run by ../kafkajs_consumer.sh
 * inside a throwaway cluster whose worker publishes to the embedded broker.
 *
 * Why this test exists: kafkajs decodes only gzip-compressed batches unless
 * a codec package is registered, so a publisher compressing with lz4 made a
 * plain kafkajs consumer stop with "KafkaJSNotImplemented: LZ4 compression
 * not implemented" before it saw one event.  The producer's default codec is
 * gzip for that reason (docs/kafka.md); this test fails if it stops being
 * one that a consumer without extra packages can read.
 *
 * It checks:
 *   - node-postgres returns bigint results (the version eventstore.append
 *     returns, the positions of outbox_status) as strings, e.g. '2';
 *   - every appended event arrives on the topic, with key = stream id,
 *     ce_id / ce_type / ce_subject / es_stream_version headers that match,
 *     and a value that parses as the event's data;
 *   - the consumer neither crashed nor logged an error.
 * It ends with one line, "kafkajs consumer: PASSED ..." or
 * "kafkajs consumer: FAILED ...", and exits 0 or 1.
 *
 *   node consume_events.js   (env: PGHOST, PGPORT, PGDATABASE, PGUSER, BOOTSTRAP;
 *                             optional TOPIC, default eventstore.events)
 */
'use strict';

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { Client } = require('pg');
const { Kafka, logLevel } = require('kafkajs');

const BOOTSTRAP = process.env.BOOTSTRAP;
const TOPIC = process.env.TOPIC || 'eventstore.events';
const PUBLISH_TIMEOUT_MS = 20000;   // append to acknowledged by the broker
const CONSUME_TIMEOUT_MS = 20000;   // group join plus fetching every event
const DISCONNECT_TIMEOUT_MS = 5000;

const problems = [];

function problem(text) {
    problems.push(text);
    console.log('PROBLEM: ' + text);
}

function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

/* Rejects with a message naming WHAT when PROMISE takes longer than MS. */
function withTimeout(promise, ms, what) {
    let timer;
    const expiry = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms / 1000} s`)), ms);
    });
    return Promise.race([promise, expiry]).finally(() => clearTimeout(timer));
}

/*
 * The events an application would append: two to one stream (the second
 * with the expected version the first returned, passed back as the string
 * node-postgres gave us), one to another stream, with non-ASCII text and
 * nested JSON so that the value's encoding is checked too.
 */
async function appendEvents(db) {
    const planned = [
        { stream: 'order-1001', type: 'OrderPlaced', data: { items: [{ sku: 'A-7', quantity: 2 }], total: 19.9 } },
        { stream: 'order-1001', type: 'OrderPaid', data: { amount: 19.9, currency: 'EUR', card: { last4: '4242' } } },
        { stream: 'customer-77', type: 'CustomerRenamed', data: { name: 'Zoë Ångström', note: 'naïve café ☕' } },
        { stream: 'order-1002', type: 'OrderPlaced', data: { items: [], total: 0, gift: true, comment: null } },
    ];
    const appended = [];
    const lastVersion = {};
    for (const event of planned) {
        const id = crypto.randomUUID();
        const { rows } = await db.query(
            'SELECT eventstore.append($1, $2, $3, expected_version => $4, event_id => $5) AS version',
            [event.stream, event.type, JSON.stringify(event.data), lastVersion[event.stream] || '0', id]);
        const version = rows[0].version;
        if (typeof version !== 'string')
            problem(`eventstore.append returned ${typeof version} ${version}; node-postgres returns bigint as a string`);
        console.log(`appended ${event.type} to ${event.stream}: eventstore.append returned ${JSON.stringify(version)} ` +
                    `(${typeof version})`);
        lastVersion[event.stream] = version;
        appended.push({ ...event, id, version });
    }
    const expectedVersions = ['1', '2', '1', '1'];
    const versions = appended.map((event) => event.version);
    if (JSON.stringify(versions) !== JSON.stringify(expectedVersions))
        problem(`versions ${JSON.stringify(versions)}, expected ${JSON.stringify(expectedVersions)}`);
    return appended;
}

/* Waits until the worker has every event of the log acknowledged by Kafka. */
async function waitUntilPublished(db) {
    const deadline = Date.now() + PUBLISH_TIMEOUT_MS;
    const total = BigInt((await db.query('SELECT count(*) AS n FROM eventstore.events')).rows[0].n);
    let status;
    for (;;) {
        status = (await db.query(
            'SELECT state, published_position, sequenced_position, pending_events, last_error ' +
            'FROM eventstore.outbox_status')).rows[0];
        // bigint columns arrive as strings: compare them as BigInt, not as text ('10' < '9').
        if (BigInt(status.sequenced_position) >= total &&
                BigInt(status.published_position) === BigInt(status.sequenced_position)) {
            console.log(`published: ${JSON.stringify(status)}`);
            return true;
        }
        if (Date.now() > deadline)
            break;
        await sleep(200);
    }
    problem(`the publisher did not publish ${total} events within ${PUBLISH_TIMEOUT_MS / 1000} s: ` +
            JSON.stringify(status));
    return false;
}

/*
 * Consumes TOPIC from the beginning with a plain kafkajs consumer (no codec
 * packages) until every appended event arrived, the consumer crashed, or
 * the time ran out.  Returns the messages as { key, headers, value } with
 * strings for the key and headers and the raw value.
 */
async function consume(appended) {
    const errors = [];
    const logCreator = () => ({ namespace, level, log }) => {
        if (level > logLevel.WARN)
            return;
        const text = `${namespace}: ${log.message}` + (log.error ? ` (${log.error})` : '');
        console.log(`kafkajs ${level === logLevel.ERROR ? 'ERROR' : 'WARN'} ${text}`);
        if (level === logLevel.ERROR)
            errors.push(text);
    };
    const kafka = new Kafka({
        clientId: 'pg-eventstore-e2e',
        brokers: BOOTSTRAP.split(','),
        connectionTimeout: 3000,
        requestTimeout: 10000,
        retry: { retries: 3, initialRetryTime: 200 },
        logLevel: logLevel.WARN,
        logCreator,
    });
    const consumer = kafka.consumer({
        groupId: 'pg-eventstore-e2e-' + crypto.randomUUID(),
        maxWaitTimeInMs: 500,
        sessionTimeout: 10000,
        heartbeatInterval: 1000,
    });

    const wanted = new Set(appended.map((event) => event.id));
    const messages = [];
    let finish;
    const finished = new Promise((resolve) => { finish = resolve; });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
        const error = payload.error;
        errors.push(`crash: ${error.name}: ${error.message}`);
        problem(`the kafkajs consumer crashed: ${error.name}: ${error.message}` +
                (error.name === 'KafkaJSNotImplemented'
                    ? ' (the producer compresses with a codec kafkajs cannot decode without a codec package; ' +
                      'see "Consuming from Node.js" in docs/kafka.md)'
                    : ''));
        finish();
    });

    try {
        await withTimeout(consumer.connect(), 10000, 'connecting the consumer');
        await consumer.subscribe({ topics: [TOPIC], fromBeginning: true });
        await consumer.run({
            eachMessage: async ({ partition, message }) => {
                const headers = {};
                for (const [name, value] of Object.entries(message.headers || {}))
                    headers[name] = Array.isArray(value) ? value.map(String) : String(value);
                messages.push({ partition, key: message.key && message.key.toString(), headers, value: message.value });
                wanted.delete(headers.ce_id);
                if (wanted.size === 0)
                    finish();
            },
        });
        await withTimeout(finished, CONSUME_TIMEOUT_MS, 'consuming every appended event')
            .catch((error) => problem(`${error.message}: ${wanted.size} of ${appended.length} events missing`));
    } catch (error) {
        problem(`kafkajs failed: ${error.name}: ${error.message}`);
    } finally {
        await withTimeout(consumer.disconnect(), DISCONNECT_TIMEOUT_MS, 'disconnecting the consumer')
            .catch((error) => problem(error.message));
    }
    // A crash was reported above, with the errors that led to it.
    if (errors.length > 0 && !errors.some((text) => text.startsWith('crash: ')))
        problem(`the kafkajs consumer logged ${errors.length} error(s), the first: ${errors[0]}`);
    return messages;
}

/* Every appended event arrived once at least, exactly as it was appended. */
function checkMessages(appended, messages) {
    const byId = new Map(appended.map((event) => [event.id, event]));
    const seen = new Set();
    for (const message of messages) {
        const event = byId.get(message.headers.ce_id);
        if (!event) {
            problem(`a message for an event this test did not append: ${JSON.stringify(message.headers)}`);
            continue;
        }
        if (seen.has(event.id))
            continue;   // at least once: consumers drop duplicates by ce_id
        seen.add(event.id);
        const what = `${event.type} ${event.id}`;
        if (message.key !== event.stream)
            problem(`${what}: key ${message.key}, expected ${event.stream}`);
        if (message.headers.ce_type !== event.type)
            problem(`${what}: ce_type ${message.headers.ce_type}, expected ${event.type}`);
        if (message.headers.ce_subject !== event.stream)
            problem(`${what}: ce_subject ${message.headers.ce_subject}, expected ${event.stream}`);
        if (message.headers.es_stream_version !== event.version)
            problem(`${what}: es_stream_version ${message.headers.es_stream_version}, expected ${event.version}`);
        let data;
        try {
            data = JSON.parse(message.value.toString('utf8'));
        } catch (error) {
            problem(`${what}: the value is not JSON: ${error.message}`);
            continue;
        }
        try {
            assert.deepStrictEqual(data, event.data);
        } catch (error) {
            problem(`${what}: the value ${JSON.stringify(data)} is not the event's data ${JSON.stringify(event.data)}`);
        }
    }
    const missing = appended.filter((event) => !seen.has(event.id));
    if (missing.length > 0)
        problem(`${missing.length} of ${appended.length} appended events never arrived, the first: ` +
                `${missing[0].type} ${missing[0].id} of ${missing[0].stream}`);
    console.log(`consumed ${messages.length} messages, ${seen.size} of ${appended.length} appended events`);
    return seen.size;
}

async function main() {
    if (!BOOTSTRAP)
        throw new Error('BOOTSTRAP (the broker list) is not set');
    // PGHOST, PGPORT, PGDATABASE and PGUSER come from the environment.
    const db = new Client({ connectionTimeoutMillis: 5000, statement_timeout: 10000, query_timeout: 15000 });
    await db.connect();
    let appended;
    try {
        const config = (await db.query("SELECT current_setting('pg_eventstore.kafka_config') AS config")).rows[0].config;
        console.log(`pg_eventstore.kafka_config = '${config}'`);
        appended = await appendEvents(db);
        if (!(await waitUntilPublished(db)))
            return;
    } finally {
        await db.end();
    }
    const arrived = checkMessages(appended, await consume(appended));
    if (problems.length === 0)
        console.log(`kafkajs consumer: PASSED (${arrived} events appended with node-postgres arrived through ` +
                    'kafkajs with their CloudEvents headers and data)');
}

function fail(error) {
    problem(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
    console.log(`kafkajs consumer: FAILED (${problems[0]})`);
    process.exit(1);
}

process.on('unhandledRejection', fail);
main().then(() => {
    if (problems.length > 0) {
        const more = problems.length > 1 ? ` and ${problems.length - 1} more problems` : '';
        console.log(`kafkajs consumer: FAILED (${problems[0]}${more})`);
        process.exit(1);
    }
    process.exit(0);
}, fail);

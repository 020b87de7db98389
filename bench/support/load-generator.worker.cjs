// The load generator, in its own thread: clients in the server's event loop would queue their own work (fetch,
// body reads, timers) between the server's, and their pauses would count as the server's latency.
// Plain CommonJS so the worker starts without a TypeScript loader. Started by latency() in load.ts.
const { parentPort, workerData } = require('node:worker_threads');

// headers: sent on every request (a bearer token); posts: instead of GETs of urls, POSTs of these bodies, each once
// ({ url, contentType, body }).
const { base, urls, concurrency, requests, budgetMs, minRequests, headers, posts } = workerData;
const deadline = Date.now() + budgetMs;
const timings = [];
const server = [];
let next = 0;
Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < requests && (next < minRequests || Date.now() < deadline)) {
      const post = posts ? posts[next % posts.length] : undefined;
      const url = post ? post.url : urls[next % urls.length];
      next++;
      const started = process.hrtime.bigint();
      const response = await fetch(
        base + url,
        post
          ? { method: 'POST', headers: { ...headers, 'content-type': post.contentType }, body: post.body }
          : { headers },
      );
      const body = await response.arrayBuffer();
      if (response.status !== 200) {
        throw new Error(
          url + ': ' + response.status + ' ' + Buffer.from(body).toString('utf8').slice(0, 300),
        );
      }
      timings.push(Number(process.hrtime.bigint() - started) / 1e6);
      const timing = /app;dur=([\d.]+)/.exec(response.headers.get('server-timing') || '');
      if (timing) server.push(Number(timing[1]));
    }
  }),
).then(
  () => parentPort.postMessage({ timings, server }),
  (error) => parentPort.postMessage({ error: String(error) }),
);

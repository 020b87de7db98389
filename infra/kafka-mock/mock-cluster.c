/*
 * A real Kafka-protocol broker for tests: librdkafka's in-process mock cluster
 * (rdkafka_mock.h, Debian package librdkafka-dev), driven by test/support/kafka-mock.ts.
 *
 *   mock-cluster <partitions> [topic...]      (default 32 partitions)
 *   stdout: "BOOTSTRAP <host:port>" once ready; stdin: "CREATE <topic> <partitions>" -> "CREATED <topic>"
 *   (or "ERROR <topic> <reason>", e.g. when the topic exists).
 *   Exits 0 when stdin closes (so it never outlives its parent) or on SIGTERM/SIGINT.
 *
 * Why topics are created here: the mock broker does not implement CreateTopics, so a kafkajs
 * admin.createTopics() fails against it; rd_kafka_mock_topic_create() is the only way besides
 * auto-creation (4 partitions). Why 32 partitions: each mock partition keeps only ~5 MB
 * (and 100,000 message sets), dropping its oldest data beyond that, so spreading across
 * partitions keeps test streams whole.
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

static rd_kafka_mock_cluster_t *mcluster;

static rd_kafka_resp_err_t create_topic(const char *topic, int partitions) {
  return rd_kafka_mock_topic_create(mcluster, topic, partitions, 1 /* replication factor */);
}

int main(int argc, char **argv) {
  char errstr[512], buf[4096], topic[1024];
  int partitions = argc > 1 ? atoi(argv[1]) : 32, n, len = 0;
  sigset_t sigs; /* block the signals in every thread (librdkafka's inherit it); read them from a signalfd */
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  sigprocmask(SIG_BLOCK, &sigs, NULL);
  struct pollfd fds[2] = {{.fd = STDIN_FILENO, .events = POLLIN}, {.fd = signalfd(-1, &sigs, 0), .events = POLLIN}};

  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "4", errstr, sizeof(errstr)); /* hide "no bootstrap.servers" notice */
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (!rk || !(mcluster = rd_kafka_mock_cluster_new(rk, 1))) {
    fprintf(stderr, "mock-cluster: %s\n", rk ? "rd_kafka_mock_cluster_new failed" : errstr);
    return 1;
  }
  for (int i = 2; i < argc; i++) {
    rd_kafka_resp_err_t err = create_topic(argv[i], partitions > 0 ? partitions : 32);
    if (err) return fprintf(stderr, "mock-cluster: create %s: %s\n", argv[i], rd_kafka_err2str(err)), 1;
  }
  printf("BOOTSTRAP %s\n", rd_kafka_mock_cluster_bootstraps(mcluster));
  fflush(stdout);

  while (poll(fds, 2, -1) >= 0 && !fds[1].revents) {
    if (!fds[0].revents) continue;
    if ((n = read(STDIN_FILENO, buf + len, sizeof(buf) - 1 - len)) <= 0) break; /* stdin closed */
    len += n;
    buf[len] = '\0';
    char *line = buf, *nl;
    for (; (nl = strchr(line, '\n')); line = nl + 1) {
      *nl = '\0';
      if (sscanf(line, "CREATE %1023s %d", topic, &n) == 2 && n > 0) {
        rd_kafka_resp_err_t err = create_topic(topic, n);
        if (err) printf("ERROR %s %s\n", topic, rd_kafka_err2str(err));
        else printf("CREATED %s\n", topic);
      } else if (*line)
        printf("ERROR unknown command: %s\n", line);
      fflush(stdout);
    }
    len -= line - buf;
    memmove(buf, line, len);
    if (len == sizeof(buf) - 1) len = 0; /* drop an over-long line */
  }
  rd_kafka_mock_cluster_destroy(mcluster);
  rd_kafka_destroy(rk);
  return 0;
}

// The typed inbox (sim/inbox.hpp), on a real transport: it hands out messages by kind, keeps the others
// in the order they arrived, gives up at a deadline, and drops what the caller says to drop. SimGrid
// allows one engine per process, so the simulation runs in a forked child that reports what it saw.
#include "sim/engine.hpp"
#include "sim/inbox.hpp"
#include "sim/platform.hpp"
#include "sim/scenario.hpp"
#include "tests/helpers.hpp"

#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>

namespace sg4 = simgrid::s4u;
using namespace geosim;

namespace {

/// Runs `body` (actors on the two-sites platform) in a child process; returns what it wrote to the
/// file it is given, one line per event.
std::string in_child(const std::function<void(Transport&, const Platform&, std::ofstream&)>& body) {
  std::string log = (geosim::test::temp_dir("inbox") / "events.txt").string();
  pid_t pid = fork();
  if (pid == 0) {
    int code = 0;
    try {
      NetworkSpec network;
      network.model = "CM02";
      auto engine = start_engine(network, {"--log=root.thres:critical"});
      Platform platform = build_platform(load_platform_spec(geosim::test::data("two-sites.json")));
      Transport transport(platform);
      std::ofstream out(log);
      body(transport, platform, out);
      engine->run();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s\n", e.what());
      code = 2;
    }
    std::fflush(nullptr);
    _exit(code);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  return geosim::test::read_text(log);
}

/// Posts messages of these kinds (kinds the transport knows, sim/provenance.cpp) from site a to the
/// mailbox "box" at site b, in order; message i is i + 1 bytes, so the receiver can tell them apart.
void post_from_a(Transport& t, const Platform& p, std::vector<std::string> kinds) {
  Endpoint box{"box", p.workers[1][0]};
  sg4::Actor::create("sender", p.workers[0][0], [&t, box, kinds] {
    for (std::size_t i = 0; i < kinds.size(); ++i)
      t.post(box, kinds[i], Opaque{static_cast<double>(i + 1)});
  });
}

std::string seen(const EnvelopePtr& e) {
  return e ? e->kind + std::to_string(static_cast<int>(e->bytes)) + " " : std::string("none ");
}

} // namespace

TEST_CASE("an inbox takes messages by kind and keeps the others in the order they came", "[transport][inbox]") {
  auto events = in_child([](Transport& t, const Platform& p, std::ofstream& out) {
    post_from_a(t, p, {"pull", "push", "pull", "push", "stop"});
    sg4::Actor::create("reader", p.workers[1][0], [&t, &out] {
      Inbox in(t, "box");
      out << seen(in.take("push")) << seen(in.take("push")) << seen(in.take("pull"))
          << seen(in.take_any({"stop", "pull"})) << seen(in.take("stop")) << in.has_mail();
    });
  });
  CHECK(events == "push2 push4 pull1 pull3 stop5 0");
}

TEST_CASE("an inbox gives up at its deadline and drops what it is told to drop", "[transport][inbox]") {
  auto events = in_child([](Transport& t, const Platform& p, std::ofstream& out) {
    post_from_a(t, p, {"slice", "neighbours", "slice"});
    sg4::Actor::create("reader", p.workers[1][0], [&t, &out] {
      Inbox in(t, "box");
      auto answer =
          in.take([](const Envelope& e) { return e.kind == "neighbours"; }, Inbox::kForever, Inbox::Others::drop);
      out << seen(answer) << seen(in.take("slice")) << in.has_mail() << " ";
      // Nothing more comes: a take returns empty at its deadline, 1 s on.
      double t0 = sg4::Engine::get_clock();
      out << seen(in.take("stop", t0 + 1)) << (std::abs(sg4::Engine::get_clock() - t0 - 1.0) < 1e-9);
    });
  });
  // The first slice was dropped on the way to the answer; the one after it is still there.
  CHECK(events == "neighbours2 slice3 0 none 1");
}

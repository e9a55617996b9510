// jobgw_floor: what gRPC alone costs per GetJobStatus on this machine. A JobGateway server on
// the callback API, built with the options jobgw's own server uses (server/gateway.cc), whose
// GetJobStatus answers a canned JobSnapshot shaped like jobgw's answer for jobsim's finished
// 5-host job; every other method is UNIMPLEMENTED. Scenario 4 loads it like jobgw, so jobgw's
// CPU per call minus this one's is what jobgw's own code and hand-offs cost.
//
//   jobgw_floor --listen 127.0.0.1:0 --port-file F [--hosts 5]
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <signal.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include "jobgw/v1/job_gateway.grpc.pb.h"

namespace {

namespace v1 = jobgw::v1;

// jobgw's config defaults (server/config.h).
constexpr int kMaxMessageBytes = 4 * 1024 * 1024;

// Field for field what jobgw maps jobsim's answer for the benchmark's finished job into:
// 13-digit millisecond times, 5-digit ids, one script step, host ids from 101 with their IPs.
v1::JobSnapshot canned_snapshot(int hosts) {
  constexpr std::int64_t kCreated = 1765056781123;
  v1::JobSnapshot s;
  s.set_job_instance_id(10001);
  s.mutable_scope()->set_type("biz");
  s.mutable_scope()->set_id("1");
  s.set_name("unary-status");
  s.set_status(v1::JOB_STATUS_SUCCESS);
  s.set_finished(true);
  s.set_create_time_ms(kCreated);
  s.set_start_time_ms(kCreated + 2);
  s.set_end_time_ms(kCreated + 54);
  s.set_total_time_ms(52);
  v1::StepSnapshot* step = s.add_steps();
  step->set_step_instance_id(20001);
  step->set_type(v1::STEP_TYPE_SCRIPT);
  step->set_name("unary-status");
  step->set_status(v1::JOB_STATUS_SUCCESS);
  step->set_create_time_ms(kCreated);
  step->set_start_time_ms(kCreated + 2);
  step->set_end_time_ms(kCreated + 54);
  step->set_total_time_ms(52);
  for (int i = 0; i < hosts; ++i) {
    v1::HostResult* h = step->add_hosts();
    h->mutable_host()->set_host_id(101 + i);
    h->mutable_host()->set_ip("10.0.0." + std::to_string(101 + i));
    h->set_status(v1::HOST_STATUS_SUCCESS);
    h->set_start_time_ms(kCreated + 3);
    h->set_end_time_ms(kCreated + 53);
    h->set_total_time_ms(50);
  }
  return s;
}

// Answers from the caller's thread: nothing to wait for, so gRPC's own cost is all there is.
class FloorService final : public v1::JobGateway::CallbackService {
 public:
  explicit FloorService(v1::JobSnapshot snapshot) : snapshot_(std::move(snapshot)) {}

  grpc::ServerUnaryReactor* GetJobStatus(grpc::CallbackServerContext* context,
                                         const v1::GetJobStatusRequest* request,
                                         v1::JobSnapshot* response) override {
    *response = snapshot_;
    response->set_job_instance_id(request->job_instance_id());
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

 private:
  const v1::JobSnapshot snapshot_;
};

struct Flags {
  std::string listen = "127.0.0.1:0";
  std::string port_file;
  int hosts = 5;
};

bool parse(int argc, char** argv, Flags& f) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) return false;
    const std::string v = argv[++i];
    if (a == "--listen") {
      f.listen = v;
    } else if (a == "--port-file") {
      f.port_file = v;
    } else if (a == "--hosts") {
      f.hosts = std::atoi(v.c_str());
    } else {
      return false;
    }
  }
  return f.hosts >= 0;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  if (!parse(argc, argv, flags)) {
    std::cerr << "usage: jobgw_floor [--listen HOST:PORT] [--port-file F] [--hosts N]\n";
    return 2;
  }
  // Stops on SIGINT/SIGTERM (run.sh and profile.sh kill it): the signal is taken by a thread
  // that shuts the server down, so callgrind and the tools see a clean exit.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  FloorService service(canned_snapshot(flags.hosts));
  // As jobgw builds its server (server/gateway.cc Gateway::start_grpc).
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(flags.listen, grpc::InsecureServerCredentials(), &port);
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  builder.SetMaxSendMessageSize(kMaxMessageBytes);
  builder.AddChannelArgument(GRPC_ARG_ENABLE_DEADLINE_CHECKS, 0);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    std::cerr << "jobgw_floor: cannot listen on " << flags.listen << "\n";
    return 1;
  }
  if (!flags.port_file.empty()) {
    const std::string tmp = flags.port_file + ".tmp";
    std::ofstream(tmp) << port << "\n";
    std::rename(tmp.c_str(), flags.port_file.c_str());
  }
  std::thread stopper([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    server->Shutdown();
  });
  server->Wait();
  stopper.join();
  return 0;
}

// A cheap echo agent of FreeClimb's AudioStream contract for bench/audiostream.py: the bench
// measures percl, so its agent must cost a fraction of what percl does per frame (the Python
// grpc.aio agent costs ~100 us a frame, about as much as percl). gRPC's callback API, one
// reactor per stream, no thread per stream.
//
// Every NotifyAudio is answered by a PlayAudio of the same bytes with bytes 8..16 replaced by the
// time it arrived (a little-endian double, each byte pair swapped: l16 is big-endian on the wire
// and percl swaps it back), exactly what the bench's Python agent does; `--lead N` first plays N
// frames of silence, so that its audio stays N frames ahead of the phone's playout as a
// speaking agent's would (0: just in time; the tap runs dry between echoes and percl sends
// PlaybackStarted and PlaybackCompleted again and again). Other messages are read and ignored. It listens on
// 127.0.0.1, prints its port on stdout and runs until SIGTERM/SIGINT.
//
// Built by bench/agent_cpp/build.sh (Debian's libgrpc++-dev, protobuf-compiler-grpc, g++);
// the binary is never committed.

#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <cstdlib>

#include <grpcpp/grpcpp.h>

#include "ivr.grpc.pb.h"

using freeclimb::AppMessage;
using freeclimb::PlatformMessage;

namespace {

int lead_frames = 1;  // --lead N

void Stamp(std::string* audio) {
  if (audio->size() < 16) return;
  double now = std::chrono::duration<double>(
      std::chrono::system_clock::now().time_since_epoch()).count();
  unsigned char bytes[8];
  std::memcpy(bytes, &now, sizeof bytes);  // x86-64: little-endian, as struct.pack("<d")
  for (int i = 0; i < 8; i += 2) {
    (*audio)[8 + i] = static_cast<char>(bytes[i + 1]);
    (*audio)[8 + i + 1] = static_cast<char>(bytes[i]);
  }
}

class Echo final : public grpc::ServerBidiReactor<PlatformMessage, AppMessage> {
 public:
  Echo() { StartRead(&in_); }

  void OnReadDone(bool ok) override {
    bool write = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!ok) {
        reading_done_ = true;
      } else if (in_.payload_case() == PlatformMessage::kNotifyAudioData) {
        for (; lead_ > 0; --lead_) {
          AppMessage silence;
          silence.mutable_audio_data()->set_id("e");
          silence.mutable_audio_data()->set_audio_data(
              std::string(in_.notify_audio_data().audio_data().size(), '\0'));
          queue_.push_back(std::move(silence));
        }
        AppMessage out;
        auto* play = out.mutable_audio_data();
        play->set_id("e");
        std::string* audio = in_.mutable_notify_audio_data()->release_audio_data();
        Stamp(audio);
        play->set_allocated_audio_data(audio);
        queue_.push_back(std::move(out));
        if (!writing_) writing_ = write = true;
      }
    }
    if (!ok) {
      MaybeFinish();
      return;
    }
    if (write) StartWrite(&queue_.front());  // front() is stable: only OnWriteDone pops it
    StartRead(&in_);
  }

  void OnWriteDone(bool ok) override {
    const AppMessage* next = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.pop_front();
      if (!ok) queue_.clear();  // the stream is gone: nothing more will be written
      if (!queue_.empty()) {
        next = &queue_.front();
      } else {
        writing_ = false;
      }
    }
    if (next != nullptr) {
      StartWrite(next);
    } else {
      MaybeFinish();
    }
  }

  void OnDone() override { delete this; }

 private:
  void MaybeFinish() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!reading_done_ || writing_ || finished_) return;
      finished_ = true;
    }
    Finish(grpc::Status::OK);
  }

  PlatformMessage in_;
  int lead_ = lead_frames;
  std::mutex mu_;
  std::deque<AppMessage> queue_;
  bool writing_ = false;
  bool reading_done_ = false;
  bool finished_ = false;
};

class Service final : public freeclimb::GRPCStreamService::CallbackService {
  grpc::ServerBidiReactor<PlatformMessage, AppMessage>* SendIVRData(
      grpc::CallbackServerContext*) override {
    return new Echo();
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--lead") lead_frames = std::atoi(argv[2]);
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);  // before gRPC starts its threads: they inherit it

  Service service;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    std::fprintf(stderr, "echo_agent: could not listen on 127.0.0.1\n");
    return 1;
  }
  std::printf("%d\n", port);
  std::fflush(stdout);

  int signal_number = 0;
  sigwait(&stop, &signal_number);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  return 0;
}

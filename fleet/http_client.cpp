#include "fleet/http_client.h"

namespace switchyard::fleet {

struct HttpClient::Transfer {
  uint64_t id = 0;
  CURL* easy = nullptr;
  HttpRequest request;
  Done done;
  curl_slist* headers = nullptr;
  std::string body;
  bool stopped = false;  // on_chunk said stop
  bool cancelled = false;  // cancel() ran; curl may still hold it until its callback returns
  char error[CURL_ERROR_SIZE] = {};
};

HttpClient::HttpClient(uv_loop_t* loop)
    : multi_(loop, [this](CURL* easy, CURLcode code) { finished(easy, code); }) {}

HttpClient::~HttpClient() { close(); }

void HttpClient::close() {
  if (closed_) return;
  closed_ = true;
  while (!requests_.empty()) cancel(requests_.begin()->first);
  multi_.close();
}

uint64_t HttpClient::send(HttpRequest request, Done done) {
  auto* t = new Transfer;
  t->id = next_id_++;
  t->request = std::move(request);
  t->done = std::move(done);
  CURL* e = curl_easy_init();
  t->easy = e;
  const HttpRequest& r = t->request;
  curl_easy_setopt(e, CURLOPT_URL, r.url.c_str());
  curl_easy_setopt(e, CURLOPT_PRIVATE, t);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(r.timeout.count()));
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(r.connect_timeout.count()));
  curl_easy_setopt(e, CURLOPT_USERAGENT, "switchyard/0.1");
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &HttpClient::onWrite);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
  if (r.method == "POST" || r.method == "PUT") {
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->request.body.c_str());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, static_cast<long>(t->request.body.size()));
  }
  if (r.method != "GET" && r.method != "POST") curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r.method.c_str());
  for (const auto& h : r.headers) t->headers = curl_slist_append(t->headers, h.c_str());
  if (t->headers) curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
  requests_[t->id] = t;
  multi_.add(e);
  return t->id;
}

size_t HttpClient::onWrite(char* data, size_t size, size_t n, void* userp) {
  auto* t = static_cast<Transfer*>(userp);
  size_t len = size * n;
  if (t->cancelled) return 0;  // cancelled by an earlier chunk's handler: nothing more is delivered
  if (t->request.on_chunk) {
    if (!t->request.on_chunk(std::string_view(data, len))) {
      t->stopped = true;
      return 0;  // curl ends the transfer with CURLE_WRITE_ERROR
    }
    return len;
  }
  t->body.append(data, len);
  return len;
}

void HttpClient::cancel(uint64_t id) {
  auto it = requests_.find(id);
  if (it == requests_.end()) return;
  Transfer* t = it->second;
  requests_.erase(it);
  t->cancelled = true;
  // Inside a chunk handler curl still holds the transfer: freed once it lets go.
  multi_.remove(t->easy, [t] {
    curl_easy_cleanup(t->easy);
    curl_slist_free_all(t->headers);
    delete t;
  });
}

void HttpClient::finished(CURL* easy, CURLcode code) {
  Transfer* t = nullptr;
  curl_easy_getinfo(easy, CURLINFO_PRIVATE, &t);
  HttpResponse response;
  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  response.status = static_cast<int>(status);
  response.body = std::move(t->body);
  if (t->stopped) response.error = "stopped";
  else if (code != CURLE_OK) response.error = t->error[0] ? t->error : curl_easy_strerror(code);
  Done done = std::move(t->done);
  cancel(t->id);  // frees the transfer; the response is already taken
  done(std::move(response));
}

}  // namespace switchyard::fleet

"""An OpenAI-compatible API server for tinyllm, like ``vllm.entrypoints.openai.api_server``.

    python -m tinyllm.entrypoints.openai.api_server --model tinyllm/tiny-1b --port 8000

Routes: ``GET /health``, ``GET /version``, ``GET /v1/models`` and
``POST /v1/completions`` (with ``"stream": true`` the answer is Server-Sent
Events, one event per generated token, then ``data: [DONE]``).

Handler threads parse requests and stream results back; a single engine thread
runs the engine loop, so requests that arrive while others are running join the
batch at the next step (continuous batching).
"""

import argparse
import json
import os
import queue
import signal
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator, Optional

import tinyllm
from tinyllm.engine.arg_utils import EngineArgs
from tinyllm.engine.llm_engine import LLMEngine
from tinyllm.logger import init_logger
from tinyllm.outputs import RequestOutput
from tinyllm.sampling_params import SamplingParams
from tinyllm.utils import random_uuid

logger = init_logger("tinyllm.entrypoints.openai.api_server")

_ROUTES = (
    ("/health", "GET"),
    ("/version", "GET"),
    ("/v1/models", "GET"),
    ("/v1/completions", "POST"),
)


# The engine loop, woken from idle, waits until no request has arrived for
# _BURST_QUIET_S (at most _BURST_MAX_WAIT_S) before its first step.
_BURST_QUIET_S = 0.005
_BURST_MAX_WAIT_S = 0.05


class BadRequestError(Exception):
    def __init__(self, message: str, status: HTTPStatus = HTTPStatus.BAD_REQUEST) -> None:
        super().__init__(message)
        self.status = status


class AsyncEngine:
    """Runs the engine loop in a background thread and streams outputs to callers.

    Callers (the HTTP handler threads) never touch the engine: they hand new
    requests and aborts to the loop through queues, and each request gets its
    own queue of outputs.
    """

    def __init__(self, engine: LLMEngine) -> None:
        self.engine = engine
        self._new_requests: "queue.SimpleQueue[tuple]" = queue.SimpleQueue()
        self._aborts: "queue.SimpleQueue[str]" = queue.SimpleQueue()
        self._streams: dict[str, "queue.SimpleQueue[Any]"] = {}
        self._wakeup = threading.Event()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run_engine_loop, name="engine-loop", daemon=True)
        self.error: Optional[BaseException] = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._wakeup.set()
        self._thread.join(timeout=5)

    def generate(
        self,
        request_id: str,
        prompt: Optional[str],
        sampling_params: SamplingParams,
        prompt_token_ids: list[int],
    ) -> Iterator[RequestOutput]:
        """Submit a request and yield its outputs, one per engine step, until it finishes."""
        if self.error is not None:
            raise RuntimeError("The engine loop has died; see the log for the cause.") from self.error
        stream: "queue.SimpleQueue[Any]" = queue.SimpleQueue()
        self._new_requests.put((request_id, prompt, sampling_params, prompt_token_ids, stream))
        self._wakeup.set()
        while True:
            item = stream.get()
            if isinstance(item, BaseException):
                raise item
            yield item
            if item.finished:
                return

    def abort(self, request_id: str) -> None:
        self._aborts.put(request_id)
        self._wakeup.set()

    def _run_engine_loop(self) -> None:
        try:
            self._engine_loop()
        except Exception as exc:
            # A dead engine cannot serve anything: fail the pending requests and stop the server.
            logger.exception("Engine loop failed; shutting down the server")
            self.error = exc
            for stream in self._streams.values():
                stream.put(exc)
            os.kill(os.getpid(), signal.SIGTERM)

    def _engine_loop(self) -> None:
        while not self._stopped.is_set():
            self._admit_new_requests()
            if not self.engine.has_unfinished_requests():
                if self._wakeup.wait(timeout=1.0):
                    self._wait_for_burst()
                self._wakeup.clear()
                continue
            for output in self.engine.step():
                stream = self._streams.get(output.request_id)
                if stream is not None:
                    stream.put(output)
                if output.finished:
                    self._streams.pop(output.request_id, None)
            # Yield the GIL between steps (vLLM's engine loop awaits asyncio.sleep(0)
            # for the same reason), so the handler threads stream this step's
            # tokens now rather than in bursts several steps later.
            time.sleep(0)

    def _wait_for_burst(self) -> None:
        """Let a burst of requests arrive before the first step runs.

        Clients often send many requests at once. The handler threads need the
        GIL to read and parse them, and a running step holds it: without this
        pause the first step would start with the first arrival alone, and the
        rest of the burst would trickle in over the following steps.
        """
        deadline = time.monotonic() + _BURST_MAX_WAIT_S
        last_size = -1
        while time.monotonic() < deadline:
            size = self._new_requests.qsize()
            if size == last_size:
                return
            last_size = size
            time.sleep(_BURST_QUIET_S)

    def _admit_new_requests(self) -> None:
        while True:
            try:
                request_id = self._aborts.get_nowait()
            except queue.Empty:
                break
            self.engine.abort_request(request_id)
            self._streams.pop(request_id, None)
        while True:
            try:
                request_id, prompt, params, token_ids, stream = self._new_requests.get_nowait()
            except queue.Empty:
                break
            try:
                self.engine.add_request(request_id, prompt, params, prompt_token_ids=token_ids)
            except Exception as exc:  # reported to the caller, not fatal for the server
                stream.put(exc)
                continue
            self._streams[request_id] = stream


class OpenAIServer(ThreadingHTTPServer):
    daemon_threads = True
    # Bursts of connections (a benchmark at request rate inf) must not be refused.
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], engine: AsyncEngine, args: argparse.Namespace) -> None:
        super().__init__(address, OpenAIRequestHandler)
        self.engine = engine
        self.served_model_name = args.served_model_name or args.model
        self.max_model_len = engine.engine.model_config.max_model_len
        self.tokenizer = engine.engine.tokenizer
        self.log_requests = not args.disable_log_requests
        self.created = int(time.time())


class OpenAIRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "tinyllm/" + tinyllm.__version__
    # One small write per token: Nagle's algorithm would hold them back.
    disable_nagle_algorithm = True
    server: OpenAIServer

    # ---- routing -----------------------------------------------------------------

    def do_GET(self) -> None:
        if self.path == "/health":
            self._send_json({}, raw=b"")
        elif self.path == "/version":
            self._send_json({"version": tinyllm.__version__})
        elif self.path == "/v1/models":
            self._send_json(self._models())
        else:
            self._send_json({"detail": "Not Found"}, HTTPStatus.NOT_FOUND)

    def do_POST(self) -> None:
        if self.path != "/v1/completions":
            self._send_json({"detail": "Not Found"}, HTTPStatus.NOT_FOUND)
            return
        try:
            self._create_completion()
        except BadRequestError as exc:
            self._send_error(str(exc), exc.status)

    # ---- endpoints ---------------------------------------------------------------

    def _models(self) -> dict[str, Any]:
        name = self.server.served_model_name
        return {
            "object": "list",
            "data": [
                {
                    "id": name,
                    "object": "model",
                    "created": self.server.created,
                    "owned_by": "tinyllm",
                    "root": name,
                    "parent": None,
                    "max_model_len": self.server.max_model_len,
                }
            ],
        }

    def _create_completion(self) -> None:
        body = self._read_json()
        model = body.get("model")
        if model != self.server.served_model_name:
            raise BadRequestError(f"The model `{model}` does not exist.", HTTPStatus.NOT_FOUND)
        prompt = body.get("prompt")
        if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
            prompt = prompt[0]
        if isinstance(prompt, str):
            prompt_token_ids = self.server.tokenizer.encode(prompt)
        elif isinstance(prompt, list) and prompt and all(isinstance(t, int) for t in prompt):
            prompt_token_ids, prompt = list(prompt), None
        else:
            raise BadRequestError("prompt must be a string, a list of one string or a list of token ids")

        max_model_len = self.server.max_model_len
        max_tokens = body.get("max_tokens")
        if max_tokens is None:
            max_tokens = 16
        if len(prompt_token_ids) + max_tokens > max_model_len:
            raise BadRequestError(
                f"This model's maximum context length is {max_model_len} tokens. However, you "
                f"requested {len(prompt_token_ids) + max_tokens} tokens ({len(prompt_token_ids)} in "
                f"the messages, {max_tokens} in the completion). Please reduce the length of the "
                "messages or completion."
            )
        try:
            params = SamplingParams(
                n=body.get("n", 1),
                temperature=body.get("temperature", 1.0),
                top_p=body.get("top_p", 1.0),
                top_k=body.get("top_k", -1),
                seed=body.get("seed"),
                max_tokens=max_tokens,
                ignore_eos=bool(body.get("ignore_eos", False)),
            )
        except (TypeError, ValueError) as exc:
            raise BadRequestError(str(exc)) from exc

        request_id = f"cmpl-{random_uuid()}"
        if self.server.log_requests:
            logger.info(
                "Received request %s: prompt: %r, params: %s, prompt_token_ids: %s",
                request_id,
                prompt,
                params,
                prompt_token_ids,
            )
        outputs = self.server.engine.generate(request_id, prompt, params, prompt_token_ids)
        if body.get("stream", False):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage", False))
            self._stream_completion(request_id, outputs, len(prompt_token_ids), include_usage)
        else:
            self._full_completion(request_id, outputs, len(prompt_token_ids))

    def _stream_completion(
        self,
        request_id: str,
        outputs: Iterator[RequestOutput],
        num_prompt_tokens: int,
        include_usage: bool,
    ) -> None:
        first = self._next_output(outputs)  # errors become a 400 before the stream starts
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        created = int(time.time())
        sent_chars = 0
        num_output_tokens = 0
        try:
            for output in _chain(first, outputs):
                completion = output.outputs[0]
                delta = completion.text[sent_chars:]
                sent_chars = len(completion.text)
                num_output_tokens = len(completion.token_ids)
                choice = {
                    "index": 0,
                    "text": delta,
                    "logprobs": None,
                    "finish_reason": completion.finish_reason,
                    "stop_reason": None,
                }
                self._send_event(self._chunk(request_id, created, [choice]))
            if include_usage:
                usage = {
                    "prompt_tokens": num_prompt_tokens,
                    "total_tokens": num_prompt_tokens + num_output_tokens,
                    "completion_tokens": num_output_tokens,
                }
                self._send_event(self._chunk(request_id, created, [], usage=usage))
            self.wfile.write(b"data: [DONE]\n\n")
        except (BrokenPipeError, ConnectionResetError):
            self.server.engine.abort(request_id)

    def _full_completion(self, request_id: str, outputs: Iterator[RequestOutput], num_prompt_tokens: int) -> None:
        final = self._next_output(outputs)
        for final in outputs:
            pass
        completion = final.outputs[0]
        self._send_json(
            {
                "id": request_id,
                "object": "text_completion",
                "created": int(time.time()),
                "model": self.server.served_model_name,
                "choices": [
                    {
                        "index": 0,
                        "text": completion.text,
                        "logprobs": None,
                        "finish_reason": completion.finish_reason,
                        "stop_reason": None,
                    }
                ],
                "usage": {
                    "prompt_tokens": num_prompt_tokens,
                    "total_tokens": num_prompt_tokens + len(completion.token_ids),
                    "completion_tokens": len(completion.token_ids),
                },
            }
        )

    # ---- helpers -----------------------------------------------------------------

    def _next_output(self, outputs: Iterator[RequestOutput]) -> RequestOutput:
        try:
            return next(outputs)
        except ValueError as exc:
            raise BadRequestError(str(exc)) from exc

    def _chunk(self, request_id: str, created: int, choices: list, usage: Optional[dict] = None) -> dict:
        chunk = {
            "id": request_id,
            "object": "text_completion",
            "created": created,
            "model": self.server.served_model_name,
            "choices": choices,
        }
        if usage is not None:
            chunk["usage"] = usage
        return chunk

    def _send_event(self, data: dict) -> None:
        self.wfile.write(b"data: " + json.dumps(data).encode() + b"\n\n")

    def _read_json(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except json.JSONDecodeError as exc:
            raise BadRequestError(f"Invalid JSON body: {exc}") from exc
        if not isinstance(body, dict):
            raise BadRequestError("The request body must be a JSON object.")
        return body

    def _send_json(self, data: Any, status: HTTPStatus = HTTPStatus.OK, raw: Optional[bytes] = None) -> None:
        payload = json.dumps(data).encode() if raw is None else raw
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _send_error(self, message: str, status: HTTPStatus) -> None:
        error_type = "NotFoundError" if status == HTTPStatus.NOT_FOUND else "BadRequestError"
        self._send_json(
            {"object": "error", "message": message, "type": error_type, "param": None, "code": int(status)},
            status,
        )

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        """An access log line in uvicorn's format."""
        try:
            phrase = HTTPStatus(int(code)).phrase
        except ValueError:
            phrase = ""
        host, port = self.client_address[:2]
        # One write per line: print() writes the newline separately, so lines
        # from concurrent handler threads could interleave.
        sys.stdout.write(f'INFO:     {host}:{port} - "{self.requestline}" {code} {phrase}\n')
        sys.stdout.flush()

    def log_message(self, format: str, *args: Any) -> None:
        logger.warning("%s - %s", self.address_string(), format % args)


def _chain(first: RequestOutput, rest: Iterator[RequestOutput]) -> Iterator[RequestOutput]:
    yield first
    if not first.finished:
        yield from rest


def make_arg_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="tinyllm OpenAI-Compatible RESTful API server.")
    parser.add_argument("--host", type=str, default=None, help="host name")
    parser.add_argument("--port", type=int, default=8000, help="port number")
    parser.add_argument("--served-model-name", type=str, default=None, help="model name used in the API")
    parser.add_argument("--disable-log-requests", action="store_true", help="disable logging requests")
    return EngineArgs.add_cli_args(parser)


def run_server(args: argparse.Namespace) -> int:
    """Serve until SIGTERM or SIGINT; return the process exit status."""
    logger.info("tinyllm API server version %s", tinyllm.__version__)
    logger.info("args: %s", args)
    engine = LLMEngine.from_engine_args(EngineArgs.from_cli_args(args))
    async_engine = AsyncEngine(engine)
    host = args.host or "0.0.0.0"
    server = OpenAIServer((host, args.port), async_engine, args)
    for path, method in _ROUTES:
        logger.info("Route: %s, Methods: %s", path, method)

    def handle_signal(signum: int, frame: Any) -> None:
        # shutdown() waits for serve_forever() to return, so it must run in another thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, handle_signal)
    signal.signal(signal.SIGINT, handle_signal)
    async_engine.start()

    pid = os.getpid()
    print(f"INFO:     Started server process [{pid}]", flush=True)
    print("INFO:     Waiting for application startup.", flush=True)
    print("INFO:     Application startup complete.", flush=True)
    print(f"INFO:     Uvicorn running on http://{host}:{args.port} (Press CTRL+C to quit)", flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        print("INFO:     Shutting down", flush=True)
        print("INFO:     Waiting for application shutdown.", flush=True)
        async_engine.stop()
        server.server_close()
        print("INFO:     Application shutdown complete.", flush=True)
        print(f"INFO:     Finished server process [{pid}]", flush=True)
    return 1 if async_engine.error is not None else 0


def main(argv: Optional[list[str]] = None) -> None:
    args = make_arg_parser().parse_args(argv)
    sys.exit(run_server(args))


if __name__ == "__main__":
    main()

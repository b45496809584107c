package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"

	"colachat/internal/chat"
	"colachat/internal/wire"
)

// Codes of refusals made by the HTTP layer itself, which package chat does not know.
const (
	codeNotFound         = "NOT_FOUND"
	codeMethodNotAllowed = "METHOD_NOT_ALLOWED"
	codeOriginNotAllowed = "ORIGIN_NOT_ALLOWED"
)

var routeTexts = map[string]map[string]string{
	"ko": {
		codeNotFound:         "요청한 경로를 찾을 수 없습니다.",
		codeMethodNotAllowed: "허용되지 않는 요청 방식입니다.",
		codeOriginNotAllowed: "허용되지 않은 출처의 요청입니다.",
	},
	"en": {
		codeNotFound:         "The requested path does not exist.",
		codeMethodNotAllowed: "The request method is not allowed here.",
		codeOriginNotAllowed: "Requests from this origin are not allowed.",
	},
}

func routeFailure(code, locale string) wire.Envelope {
	texts, ok := routeTexts[locale]
	if !ok {
		texts = routeTexts["ko"]
	}
	return wire.Envelope{Success: false, Message: texts[code], Code: code}
}

// failure is the one place that turns an error into an HTTP status and envelope. Refusals
// (*chat.Error) keep their code; anything else is logged and becomes a 500 whose text
// reveals nothing.
func (a *API) failure(r *http.Request, err error) (int, wire.Envelope) {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		err = &chat.Error{Code: chat.CodePayloadTooLarge}
	}
	env, status := wire.Fail(err, a.opts.Locale)
	if status >= http.StatusInternalServerError {
		a.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	return status, env
}

func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, env := a.failure(r, err)
	a.writeEnvelope(w, status, env)
}

func (a *API) ok(w http.ResponseWriter, status int, data any) {
	a.writeEnvelope(w, status, wire.OK(data))
}

func (a *API) writeEnvelope(w http.ResponseWriter, status int, env wire.Envelope) {
	body, err := json.Marshal(env)
	if err != nil {
		a.log.Error("encode response", "err", err)
		status = http.StatusInternalServerError
		body, _ = json.Marshal(internalFailure(a.opts.Locale))
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func internalFailure(locale string) wire.Envelope {
	env, _ := wire.Fail(&chat.Error{Code: chat.CodeInternal}, locale)
	return env
}

// badRequest is a validation refusal naming what is wrong.
func badRequest(detail string) error {
	return &chat.Error{Code: chat.CodeBadRequest, Detail: detail}
}

package sim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// download is one entry of the LoadDownloads answer. Id, OrgName,
// Approved and ECMId are the fields the portal was seen to send; AppId,
// AppName, DownloadDate and IsAutoSync are extra fields a client must
// tolerate and must not rely on. There is deliberately no OrgId field: the
// OrgId is the part of Id before the underscore. Nothing here tells the
// environments apart or exposes stored keys, because the portal's answer is
// not known to.
type download struct {
	ID           string      `json:"Id"`
	OrgName      string      `json:"OrgName"`
	Approved     int         `json:"Approved"`
	ECMId        json.Number `json:"ECMId"`
	AppID        json.Number `json:"AppId"`
	AppName      string      `json:"AppName"`
	DownloadDate aspNetDate  `json:"DownloadDate"`
	IsAutoSync   bool        `json:"IsAutoSync"`
}

// aspNetDate is a time in the "\/Date(ms)\/" form ASP.NET MVC's
// JsonResult writes dates in.
type aspNetDate time.Time

// MarshalJSON writes the ASP.NET date form.
func (d aspNetDate) MarshalJSON() ([]byte, error) {
	ms := time.Time(d).UnixMilli()
	return []byte(`"\/Date(` + strconv.FormatInt(ms, 10) + `)\/"`), nil
}

// loadResult is the envelope of a successful LoadDownloads answer.
type loadResult struct {
	Success bool `json:"Success"`
	Data    struct {
		Downloads []download `json:"Downloads"`
	} `json:"Data"`
}

// failure is the portal's outer failure envelope.
type failure struct {
	Success bool   `json:"Success"`
	Message string `json:"Message"`
}

// writeJSON answers 200 with a JSON body, as ASP.NET MVC's JsonResult does
// for successes and handled failures alike.
func writeJSON(w http.ResponseWriter, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	if err := enc.Encode(v); err != nil {
		http.Error(w, "encode answer: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "private")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

// handleLoadDownloads answers one page of the app's downloads.
//
// Only the form body is read, and parameter names are matched exactly:
// appId, PageSize and page. pageSize, pageIndex, skip and take are ignored,
// as on the portal. page is zero-based; a PageSize or page that is not a
// positive (resp. non-negative) whole number reads as absent. Downloads are
// ordered by numeric OrgId, ascending, so pages are stable while the list
// does not change.
func (s *Sim) handleLoadDownloads(w *recorder, r *http.Request) {
	injected, ok := s.guardJSON(w, r)
	if !ok {
		return
	}
	if injected != 0 {
		writeInjected(w, injected)
		return
	}
	form := r.PostForm
	if form.Get("appId") != s.cfg.AppID {
		w.answer = AnswerNotFound
		writeJSON(w, failure{Success: false, Message: "The application could not be found or you do not have access to it."})
		return
	}
	size := s.cfg.PageSizeDefault
	if n, err := strconv.Atoi(form.Get("PageSize")); err == nil && n > 0 {
		size = n
	}
	if s.cfg.PageSizeMax > 0 && size > s.cfg.PageSizeMax {
		size = s.cfg.PageSizeMax
	}
	page := 0
	if n, err := strconv.Atoi(form.Get("page")); err == nil && n >= 0 {
		page = n
	}

	var res loadResult
	res.Success = true
	res.Data.Downloads = s.page(page, size)
	if len(s.cfg.RenameFields) > 0 {
		writeJSON(w, renamed(res, s.cfg.RenameFields))
		return
	}
	writeJSON(w, res)
}

// page copies one page of downloads under the read lock; the cost is the
// page length, not the number of organizations.
func (s *Sim) page(page, size int) []download {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []download{}
	start := page * size
	if page > 0 && start/page != size || start < 0 || start >= len(s.order) {
		return out // past the end (or so far past it that the offset overflows)
	}
	end := min(start+size, len(s.order))
	appID := json.Number(s.cfg.AppID)
	for _, o := range s.order[start:end] {
		d := download{
			ID:           o.OrgID + "_" + s.cfg.AppID,
			OrgName:      o.Name,
			Approved:     o.Approved,
			ECMId:        json.Number(o.ECMId),
			AppID:        appID,
			AppName:      s.cfg.AppName,
			DownloadDate: aspNetDate(o.Arrived),
			IsAutoSync:   o.AutoSync,
		}
		if s.cfg.IDWithoutApp {
			d.ID = o.OrgID
		}
		out = append(out, d)
	}
	return out
}

// renamed is a LoadDownloads answer with download members renamed.
func renamed(res loadResult, names map[string]string) any {
	out := make([]map[string]json.RawMessage, 0, len(res.Data.Downloads))
	for _, d := range res.Data.Downloads {
		b, _ := json.Marshal(d)
		var m map[string]json.RawMessage
		_ = json.Unmarshal(b, &m)
		for from, to := range names {
			if v, ok := m[from]; ok {
				delete(m, from)
				m[to] = v
			}
		}
		out = append(out, m)
	}
	return map[string]any{"Success": true, "Data": map[string]any{"Downloads": out}}
}

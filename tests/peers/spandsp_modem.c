/*
 * spandsp_modem - a real-modulation Class 1 fax modem on a pseudo-terminal, for faxpipe's tests.
 *
 * spandsp's T.31 modem (t31_*) is put behind a pty; its audio is wired back to back with
 * spandsp's own fax terminal (fax_* / t30_*), which plays the far end of the call. A DTE (efax,
 * faxpipe's Class 1 driver, ...) opens the pty slave, drives the modem with AT commands and
 * exchanges a fax with the terminal over V.21 / V.27ter / V.29 / V.17 audio.
 *
 * stdout: the first line is the pty slave path; the last line is
 *   RESULT status=<t30 code> status_text="..." pages_tx=N pages_rx=M rate=R ecm=0|1 ...
 * Everything else (spandsp's logs, the AT trace) goes to stderr.
 *
 * Audio runs in virtual time, faster than real time whenever the modem is not waiting for the
 * DTE (see audio_may_run_fast), and at real time when the DTE owes the modem something, so that
 * the DTE's latency costs as much line time as it would on a real line.
 *
 * Build: gcc -O2 spandsp_modem.c $(pkg-config --cflags --libs spandsp) -ltiff -lm
 * Written against Debian's libspandsp-dev 0.0.6.
 */

#define _GNU_SOURCE
#define SPANDSP_EXPOSE_INTERNAL_STRUCTURES

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <spandsp.h>

#define BLOCK 160                       /* samples per audio block: 20 ms at 8 kHz */
#define BLOCK_SECONDS (BLOCK / 8000.0)
#define OUT_STALL 8192                  /* pending DCE -> DTE bytes that stop the audio */
#define OUT_CAP (1 << 20)               /* never hold more than this for a DTE that is gone */
#define IN_CAP 4096
#define STUFFED_LOW_WATER 512           /* image bytes buffered before audio may run ahead */
#define HANGUP_AUDIO_SECONDS 10         /* audio run after the DTE hangs up, before terminating */
#define PHASE_E_GRACE_SECONDS 5.0       /* wall time given to the DTE to hang up after phase E */
#define DTE_LINGER_SECONDS 0.5          /* quiet time after the DTE's ATH before the pty goes */

enum { DLE = 0x10, ETX = 0x03 };

static struct
{
    int answer;                 /* the terminal is called (the DTE dials) */
    const char *send_file;
    const char *receive_file;
    int ecm;
    int compressions;
    int modems;
    const char *ident;
    int log_level;
    int trace;
    int xonxoff;
    double timeout;
    double ring_interval;
    int realtime;
    int realtime_image;
} opt;

static int master_fd = -1;
static int slave_fd = -1;
static t31_state_t *t31;
static fax_state_t *fax;
static t30_state_t *t30;

static uint8_t *outq;
static size_t out_len;
static uint8_t inq[IN_CAP];
static size_t in_len;

static int64_t samples;          /* audio time, in samples since the call connected */
static int call_up;
static int pending_event;
static int hangup_seen;
static int64_t hangup_samples;
static int phase_e_seen;
static double phase_e_wall;
static int completion = -1;
static t30_stats_t stats;
static int stats_valid;
static char remote_ident[64];
static int rings;
static int last_fast = -1;
static volatile sig_atomic_t stop_signal;
static double last_dte_input;
static int dce_said_connect;     /* the last result code was CONNECT */
static int in_dte_input;         /* inside t31_at_rx: modem control events come from the DTE */

static double wall(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double start_wall;

static void note(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "[%8.3f wall %8.3f line] ", wall() - start_wall, samples / 8000.0);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void trace_bytes(const char *dir, const uint8_t *buf, size_t len)
{
    char line[4096];
    size_t n;
    size_t i;

    n = 0;
    for (i = 0;  i < len  &&  n < sizeof(line) - 8;  i++)
    {
        uint8_t c = buf[i];

        if (c >= 0x20  &&  c < 0x7F  &&  c != '<')
            line[n++] = (char) c;
        else if (c == '\r')
            n += snprintf(line + n, sizeof(line) - n, "<CR>");
        else if (c == '\n')
            n += snprintf(line + n, sizeof(line) - n, "<LF>");
        else
            n += snprintf(line + n, sizeof(line) - n, "<%02X>", c);
    }
    line[n] = '\0';
    note("%s %zu: %s%s", dir, len, line, (i < len)  ?  "..."  :  "");
}

static void log_handler(int level, const char *text)
{
    (void) level;
    fputs(text, stderr);
}

static void setup_logging(logging_state_t *s, const char *tag, int level)
{
    span_log_set_message_handler(s, log_handler);
    span_log_set_level(s, level | SPAN_LOG_SHOW_TAG | SPAN_LOG_SHOW_SAMPLE_TIME);
    span_log_set_tag(s, tag);
}

/* ---- DCE -> DTE ------------------------------------------------------------------------- */

static void out_put(const uint8_t *buf, size_t len)
{
    static size_t cap;

    if (out_len + len > OUT_CAP)
        return;                 /* nobody is reading: drop, as a modem's buffer would */
    if (out_len + len > cap)
    {
        cap = (out_len + len) * 2;
        outq = realloc(outq, cap);
        if (outq == NULL)
        {
            perror("realloc");
            exit(2);
        }
    }
    memcpy(outq + out_len, buf, len);
    out_len += len;
}

static void out_flush(void)
{
    ssize_t n;

    while (out_len > 0)
    {
        n = write(master_fd, outq, out_len);
        if (n <= 0)
            return;
        memmove(outq, outq + n, out_len - n);
        out_len -= n;
    }
}

static int at_tx_handler(at_state_t *s, void *user_data, const uint8_t *buf, size_t len)
{
    (void) s;
    (void) user_data;
    if (opt.trace)
        trace_bytes("DCE>DTE", buf, len);
    /* Remember whether the last result code invited the DTE to send (verbose codes only: the
       interpreter writes each one in a call of its own, between CR LF calls). */
    if (len >= 7  &&  memcmp(buf, "CONNECT", 7) == 0)
        dce_said_connect = 1;
    else if ((len >= 2  &&  (memcmp(buf, "OK", 2) == 0  ||  memcmp(buf, "+F", 2) == 0))
             ||  (len >= 4  &&  (memcmp(buf, "RING", 4) == 0  ||  memcmp(buf, "BUSY", 4) == 0))
             ||  (len >= 5  &&  memcmp(buf, "ERROR", 5) == 0)
             ||  (len >= 10  &&  memcmp(buf, "NO CARRIER", 10) == 0))
        dce_said_connect = 0;
    out_put(buf, len);
    return 0;
}

/* ---- modem control: the "telephone line" ------------------------------------------------ */

static int modem_control(t31_state_t *s, void *user_data, int op, const char *num)
{
    (void) s;
    (void) user_data;
    switch (op)
    {
    case AT_MODEM_CONTROL_CALL:
        note("modem control: CALL %s", (num)  ?  num  :  "");
        /* Defer the event to the main loop, outside the AT interpreter. */
        pending_event = (opt.answer && !call_up)  ?  AT_CALL_EVENT_CONNECTED  :  AT_CALL_EVENT_BUSY;
        break;
    case AT_MODEM_CONTROL_ANSWER:
        note("modem control: ANSWER");
        if (!opt.answer  &&  !call_up)
            pending_event = AT_CALL_EVENT_ANSWERED;
        break;
    case AT_MODEM_CONTROL_HANGUP:
        /* Only the DTE's own ATH (or an on-hook by DTR) ends the wait; the modem also goes on
           hook by itself, e.g. when no carrier comes within S7, and the DTE must see that. */
        note("modem control: HANGUP (%s)", (in_dte_input)  ?  "by the DTE"  :  "by the modem");
        if (call_up  &&  in_dte_input  &&  !hangup_seen)
        {
            hangup_seen = 1;
            hangup_samples = samples;
        }
        break;
    case AT_MODEM_CONTROL_CTS:
        if (opt.xonxoff)
        {
            uint8_t c = (num)  ?  0x11  :  0x13;

            at_tx_handler(NULL, NULL, &c, 1);
        }
        break;
    default:
        break;
    }
    return 0;
}

/* ---- the far end: spandsp's T.30 terminal ----------------------------------------------- */

static int phase_b_handler(t30_state_t *s, void *user_data, int result)
{
    (void) user_data;
    (void) s;
    if (opt.log_level > 0)
        note("terminal phase B: %s", t30_frametype(result));
    return T30_ERR_OK;
}

static int phase_d_handler(t30_state_t *s, void *user_data, int result)
{
    t30_stats_t t;

    (void) user_data;
    t30_get_transfer_statistics(s, &t);
    note("terminal phase D: %s (pages tx %d rx %d, rate %d)", t30_frametype(result), t.pages_tx,
         t.pages_rx, t.bit_rate);
    return T30_ERR_OK;
}

static void phase_e_handler(t30_state_t *s, void *user_data, int result)
{
    const char *id;

    (void) user_data;
    completion = result;
    t30_get_transfer_statistics(s, &stats);
    stats_valid = 1;
    id = t30_get_rx_ident(s);
    snprintf(remote_ident, sizeof(remote_ident), "%s", (id)  ?  id  :  "");
    phase_e_seen = 1;
    phase_e_wall = wall();
    note("terminal phase E: %d %s", result, t30_completion_code_to_str(result));
}

/* ---- pacing ----------------------------------------------------------------------------- */

/* May the audio run ahead of real time?  Only while nothing is expected from the DTE: the modem
   is receiving (+FRH/+FRM/+FRS), or it holds what it needs to transmit (a whole HDLC frame, or
   enough image data, or the end of the data), or it is finishing a transmission and the DTE
   waits for its OK.  When the DTE owes the modem a command or data, audio runs at real time. */
static int audio_may_run_fast(void)
{
    at_state_t *at;
    hdlc_tx_state_t *h;

    if (opt.realtime)
        return 0;
    /* The DTE has hung up: nobody is left to wait for; let the terminal finish (or time out). */
    if (hangup_seen  &&  !phase_e_seen)
        return 1;
    at = &t31->at_state;
    switch (at->at_rx_mode)
    {
    case AT_MODE_ONHOOK_COMMAND:
    case AT_MODE_OFFHOOK_COMMAND:
        /* A transmission or +FTS silence still running: the DTE waits for its OK. */
        if (at->transmit  &&  t31->modem != FAX_MODEM_NONE)
        {
            /* Image data still draining from the buffer, at the line rate when asked. */
            if (opt.realtime_image  &&  (t31->modem == FAX_MODEM_V17_TX  ||  t31->modem == FAX_MODEM_V29_TX
                                        ||  t31->modem == FAX_MODEM_V27TER_TX))
                return 0;
            return 1;
        }
        /* The final frame was delivered; OK follows when the carrier drops. */
        if (at->ok_is_pending  &&  at->dte_is_waiting)
            return 1;
        return 0;
    case AT_MODE_DELIVERY:
        return 1;
    case AT_MODE_HDLC:
        /* A frame in hand or closing; or, after ATA, CED and the preamble before the CONNECT
           that invites the DTE's first frame. */
        h = &t31->audio.modems.hdlc_tx;
        return h->len > 0  ||  h->tx_end  ||  t31->hdlc_tx.final  ||  !dce_said_connect;
    case AT_MODE_STUFFED:
        if (opt.realtime_image)
            return 0;
        return t31->tx.final  ||  (t31->tx.in_bytes - t31->tx.out_bytes) >= STUFFED_LOW_WATER;
    default:
        return 0;
    }
}

static void run_block(void)
{
    int16_t fax_amp[BLOCK];
    int16_t t31_amp[BLOCK];
    int n;

    n = fax_tx(fax, fax_amp, BLOCK);
    if (n < BLOCK)
        memset(fax_amp + n, 0, sizeof(int16_t) * (BLOCK - n));
    t31_rx(t31, fax_amp, BLOCK);
    n = t31_tx(t31, t31_amp, BLOCK);
    if (n < BLOCK)
        memset(t31_amp + n, 0, sizeof(int16_t) * (BLOCK - n));
    fax_rx(fax, t31_amp, BLOCK);

    span_log_bump_samples(fax_get_logging_state(fax), BLOCK);
    span_log_bump_samples(t30_get_logging_state(t30), BLOCK);
    span_log_bump_samples(t31_get_logging_state(t31), BLOCK);
    span_log_bump_samples(&t31->at_state.logging, BLOCK);
    samples += BLOCK;
}

/* ---- DTE -> DCE ------------------------------------------------------------------------- */

/* Offset just past the first unescaped DLE ETX in buf (or len), given the DLE state before it. */
static size_t cut_after_dle_etx(const uint8_t *buf, size_t len, int dled)
{
    size_t i;

    for (i = 0;  i < len;  i++)
    {
        if (dled)
        {
            dled = 0;
            if (buf[i] == ETX)
                return i + 1;
        }
        else if (buf[i] == DLE)
        {
            dled = 1;
        }
    }
    return len;
}

/* Hand the DTE's bytes to the modem, in pieces that end where the modem's mode may change, so
   that no byte is interpreted in the wrong mode (spandsp drops what follows DLE ETX in the same
   call), and never more image data than its transmit buffer holds. */
static void process_input(void)
{
    size_t n;
    int used;
    int room;
    uint8_t *cr;

    while (in_len > 0)
    {
        switch (t31->at_state.at_rx_mode)
        {
        case AT_MODE_STUFFED:
            used = t31->tx.in_bytes - t31->tx.out_bytes;
            room = T31_TX_BUF_LEN - 64 - used;
            if (room <= 0)
                return;
            n = ((size_t) room < in_len)  ?  (size_t) room  :  in_len;
            n = cut_after_dle_etx(inq, n, t31->dled);
            break;
        case AT_MODE_HDLC:
            n = cut_after_dle_etx(inq, in_len, t31->dled);
            break;
        case AT_MODE_ONHOOK_COMMAND:
        case AT_MODE_OFFHOOK_COMMAND:
            cr = memchr(inq, '\r', in_len);
            n = (cr)  ?  (size_t) (cr - inq) + 1  :  in_len;
            break;
        case AT_MODE_DELIVERY:
            /* Any character aborts a receive; what follows is a new command. */
            n = 1;
            break;
        default:
            n = in_len;
            break;
        }
        if (opt.trace)
            trace_bytes("DTE>DCE", inq, n);
        in_dte_input = 1;
        t31_at_rx(t31, (const char *) inq, (int) n);
        in_dte_input = 0;
        memmove(inq, inq + n, in_len - n);
        in_len -= n;
    }
}

static void read_input(void)
{
    ssize_t n;

    if (in_len >= IN_CAP)
        return;
    n = read(master_fd, inq + in_len, IN_CAP - in_len);
    if (n > 0)
    {
        in_len += (size_t) n;
        last_dte_input = wall();
    }
}

/* ---- set-up ----------------------------------------------------------------------------- */

static void open_pty(void)
{
    struct termios tio;
    const char *name;

    master_fd = posix_openpt(O_RDWR | O_NOCTTY);
    if (master_fd < 0  ||  grantpt(master_fd)  ||  unlockpt(master_fd))
    {
        perror("posix_openpt");
        exit(2);
    }
    name = ptsname(master_fd);
    if (name == NULL)
    {
        perror("ptsname");
        exit(2);
    }
    /* Keep the slave open ourselves: a DTE that closes and reopens the port then never finds
       the master hung up (EIO), and the slave's raw settings survive. */
    slave_fd = open(name, O_RDWR | O_NOCTTY);
    if (slave_fd < 0)
    {
        perror(name);
        exit(2);
    }
    if (tcgetattr(slave_fd, &tio) == 0)
    {
        cfmakeraw(&tio);
        cfsetispeed(&tio, B115200);
        cfsetospeed(&tio, B115200);
        tcsetattr(slave_fd, TCSANOW, &tio);
    }
    fcntl(master_fd, F_SETFL, fcntl(master_fd, F_GETFL) | O_NONBLOCK);
    printf("%s\n", name);
    fflush(stdout);
}

static void setup_terminal(void)
{
    int level;

    fax = fax_init(NULL, !opt.answer);
    if (fax == NULL)
    {
        fprintf(stderr, "fax_init failed\n");
        exit(2);
    }
    t30 = fax_get_t30_state(fax);
    fax_set_transmit_on_idle(fax, 1);
    t30_set_tx_ident(t30, opt.ident);
    t30_set_supported_modems(t30, opt.modems);
    t30_set_supported_compressions(t30, opt.compressions);
    t30_set_ecm_capability(t30, opt.ecm);
    t30_set_supported_resolutions(t30, T30_SUPPORT_STANDARD_RESOLUTION
                                     | T30_SUPPORT_FINE_RESOLUTION
                                     | T30_SUPPORT_SUPERFINE_RESOLUTION
                                     | T30_SUPPORT_R8_RESOLUTION
                                     | T30_SUPPORT_R16_RESOLUTION);
    if (opt.send_file)
        t30_set_tx_file(t30, opt.send_file, -1, -1);
    if (opt.receive_file)
        t30_set_rx_file(t30, opt.receive_file, -1);
    t30_set_phase_b_handler(t30, phase_b_handler, NULL);
    t30_set_phase_d_handler(t30, phase_d_handler, NULL);
    t30_set_phase_e_handler(t30, phase_e_handler, NULL);

    level = (opt.log_level >= 3)  ?  SPAN_LOG_DEBUG  :  (opt.log_level >= 1)  ?  SPAN_LOG_FLOW  :  SPAN_LOG_WARNING;
    setup_logging(t30_get_logging_state(t30), "T.30", level);
    level = (opt.log_level >= 3)  ?  SPAN_LOG_DEBUG  :  (opt.log_level >= 2)  ?  SPAN_LOG_FLOW  :  SPAN_LOG_WARNING;
    setup_logging(fax_get_logging_state(fax), "FAX", level);
}

static void setup_modem(void)
{
    int level;

    t31 = t31_init(NULL, at_tx_handler, NULL, modem_control, NULL, NULL, NULL);
    if (t31 == NULL)
    {
        fprintf(stderr, "t31_init failed\n");
        exit(2);
    }
    t31_set_transmit_on_idle(t31, 1);
    level = (opt.log_level >= 3)  ?  SPAN_LOG_DEBUG  :  (opt.log_level >= 2)  ?  SPAN_LOG_FLOW  :  SPAN_LOG_WARNING;
    setup_logging(t31_get_logging_state(t31), "T.31", level);
    setup_logging(&t31->at_state.logging, "AT", level);
}

/* ---- result ----------------------------------------------------------------------------- */

static const char *encoding_name(int encoding)
{
    switch (encoding)
    {
    case T4_COMPRESSION_ITU_T4_1D:
        return "mh";
    case T4_COMPRESSION_ITU_T4_2D:
        return "mr";
    case T4_COMPRESSION_ITU_T6:
        return "mmr";
    default:
        return "none";
    }
}

static void quoted(char *dst, size_t size, const char *src)
{
    size_t n;

    n = 0;
    for (;  *src  &&  n + 2 < size;  src++)
        dst[n++] = (*src == '"'  ||  *src == '\\'  ||  (unsigned char) *src < 0x20)  ?  '_'  :  *src;
    dst[n] = '\0';
}

static int finish(const char *why)
{
    char text[128];
    char ident[80];
    int status;
    int ok;

    if (!stats_valid  &&  t30)
        t30_get_transfer_statistics(t30, &stats);
    if (completion < 0)
    {
        status = -1;
        snprintf(text, sizeof(text), "%s", why);
    }
    else
    {
        status = completion;
        quoted(text, sizeof(text), t30_completion_code_to_str(completion));
    }
    quoted(ident, sizeof(ident), remote_ident);
    /* Close the terminal: the received TIFF is complete on disk after this. */
    if (fax)
    {
        fax_release(fax);
        fax_free(fax);
        fax = NULL;
    }
    ok = completion == T30_ERR_OK
         &&  (opt.send_file == NULL  ||  stats.pages_tx > 0)
         &&  (opt.receive_file == NULL  ||  stats.pages_rx > 0);
    printf("RESULT status=%d status_text=\"%s\" end=%s pages_tx=%d pages_rx=%d rate=%d ecm=%d "
           "encoding=%s x_res=%d y_res=%d width=%d length=%d bad_rows=%d remote_ident=\"%s\" "
           "rings=%d line_seconds=%.1f wall_seconds=%.1f\n",
           status, text, why, stats.pages_tx, stats.pages_rx, stats.bit_rate,
           stats.error_correcting_mode, encoding_name(stats.encoding), stats.x_resolution,
           stats.y_resolution, stats.width, stats.length, stats.bad_rows, ident, rings,
           samples / 8000.0, wall() - start_wall);
    fflush(stdout);
    if (strcmp(why, "timeout") == 0)
        return 3;
    return (ok)  ?  0  :  1;
}

/* ---- options ---------------------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr,
            "usage: spandsp_modem (--answer | --call) (--send FILE.tif | --receive OUT.tif)\n"
            "         [--ecm | --no-ecm] [--compressions mh,mr,mmr] [--modems v17,v29,v27ter]\n"
            "         [--ident ID] [--log 0-3] [--trace] [--xonxoff] [--timeout SECONDS]\n"
            "         [--ring-interval SECONDS] [--realtime] [--realtime-image]\n");
    exit(2);
}

static int parse_list(const char *list, const char *const names[], const int bits[])
{
    char buf[128];
    char *tok;
    char *save;
    int result;
    int i;

    snprintf(buf, sizeof(buf), "%s", list);
    result = 0;
    for (tok = strtok_r(buf, ",", &save);  tok;  tok = strtok_r(NULL, ",", &save))
    {
        for (i = 0;  names[i];  i++)
        {
            if (strcasecmp(tok, names[i]) == 0)
                break;
        }
        if (names[i] == NULL)
        {
            fprintf(stderr, "unknown item '%s'\n", tok);
            usage();
        }
        result |= bits[i];
    }
    return result;
}

static void parse_args(int argc, char **argv)
{
    static const char *const compression_names[] = {"mh", "mr", "mmr", NULL};
    static const int compression_bits[] = {T30_SUPPORT_T4_1D_COMPRESSION,
                                           T30_SUPPORT_T4_2D_COMPRESSION,
                                           T30_SUPPORT_T6_COMPRESSION};
    static const char *const modem_names[] = {"v17", "v29", "v27ter", NULL};
    static const int modem_bits[] = {T30_SUPPORT_V17, T30_SUPPORT_V29, T30_SUPPORT_V27TER};
    const char *compressions;
    int role;
    int i;

    memset(&opt, 0, sizeof(opt));
    opt.ident = "+1 555 0199";
    opt.timeout = 120.0;
    opt.ring_interval = 1.0;
    opt.modems = T30_SUPPORT_V17 | T30_SUPPORT_V29 | T30_SUPPORT_V27TER;
    compressions = NULL;
    role = 0;
    for (i = 1;  i < argc;  i++)
    {
        const char *a = argv[i];
        const char *v = (i + 1 < argc)  ?  argv[i + 1]  :  NULL;

        if (strcmp(a, "--answer") == 0)
            opt.answer = 1, role |= 1;
        else if (strcmp(a, "--call") == 0)
            opt.answer = 0, role |= 2;
        else if (strcmp(a, "--ecm") == 0)
            opt.ecm = 1;
        else if (strcmp(a, "--no-ecm") == 0)
            opt.ecm = 0;
        else if (strcmp(a, "--trace") == 0)
            opt.trace = 1;
        else if (strcmp(a, "--xonxoff") == 0)
            opt.xonxoff = 1;
        else if (strcmp(a, "--realtime") == 0)
            opt.realtime = 1;
        else if (strcmp(a, "--realtime-image") == 0)
            opt.realtime_image = 1;
        else if (v == NULL)
            usage();
        else if (strcmp(a, "--send") == 0)
            opt.send_file = v, i++;
        else if (strcmp(a, "--receive") == 0)
            opt.receive_file = v, i++;
        else if (strcmp(a, "--ident") == 0)
            opt.ident = v, i++;
        else if (strcmp(a, "--compressions") == 0)
            compressions = v, i++;
        else if (strcmp(a, "--modems") == 0)
            opt.modems = parse_list(v, modem_names, modem_bits), i++;
        else if (strcmp(a, "--log") == 0)
            opt.log_level = atoi(v), i++;
        else if (strcmp(a, "--timeout") == 0)
            opt.timeout = atof(v), i++;
        else if (strcmp(a, "--ring-interval") == 0)
            opt.ring_interval = atof(v), i++;
        else
            usage();
    }
    if ((role != 1  &&  role != 2)  ||  (opt.send_file == NULL) == (opt.receive_file == NULL))
        usage();
    if (opt.send_file  &&  access(opt.send_file, R_OK) != 0)
    {
        perror(opt.send_file);
        exit(2);
    }
    if (compressions)
        opt.compressions = parse_list(compressions, compression_names, compression_bits);
    else
        opt.compressions = T30_SUPPORT_T4_1D_COMPRESSION | T30_SUPPORT_T4_2D_COMPRESSION
                         | ((opt.ecm)  ?  T30_SUPPORT_T6_COMPRESSION  :  0);
}

static void on_signal(int sig)
{
    stop_signal = sig;
}

/* ---- main loop -------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    struct pollfd pfd;
    double now;
    double deadline;
    double next_ring;
    double next_block;
    double wait;
    int fast;
    int stall;

    start_wall = wall();
    parse_args(argc, argv);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGPIPE, SIG_IGN);

    outq = malloc(OUT_STALL);
    open_pty();
    setup_terminal();
    setup_modem();

    deadline = start_wall + opt.timeout;
    next_ring = start_wall + opt.ring_interval;
    next_block = start_wall;
    for (;;)
    {
        now = wall();
        if (stop_signal)
            return finish("signal");
        if (now >= deadline)
            return finish("timeout");
        /* Done once the terminal has finished and the DTE has hung up and gone quiet (efax sends
           more commands after its ATH), or after a grace period without the DTE's ATH. */
        if (phase_e_seen  &&  ((hangup_seen  &&  now - last_dte_input >= DTE_LINGER_SECONDS)
                               ||  now - phase_e_wall >= PHASE_E_GRACE_SECONDS))
        {
            /* Give the DTE the last responses (the OK of its ATH) before the pty goes. */
            for (wait = now + 1.0;  out_len > 0  &&  wall() < wait;  )
            {
                out_flush();
                usleep(5000);
            }
            return finish((hangup_seen)  ?  "hangup"  :  "phase_e");
        }
        if (hangup_seen  &&  !phase_e_seen  &&  samples - hangup_samples > HANGUP_AUDIO_SECONDS * 8000)
        {
            note("the DTE hung up and the terminal did not finish: terminating it");
            t30_terminate(t30);
            if (!phase_e_seen)
                return finish("hangup");
        }

        /* Call set-up: the "exchange" side of the modem. */
        if (pending_event)
        {
            int event = pending_event;

            pending_event = 0;
            if (event == AT_CALL_EVENT_CONNECTED  ||  event == AT_CALL_EVENT_ANSWERED)
            {
                call_up = 1;
                next_block = now;
                note("call %s", (event == AT_CALL_EVENT_CONNECTED)  ?  "connected"  :  "answered");
            }
            t31_call_event(t31, event);
        }
        if (!opt.answer  &&  !call_up  &&  now >= next_ring)
        {
            rings++;
            t31_call_event(t31, AT_CALL_EVENT_ALERTING);
            next_ring = now + opt.ring_interval;
        }

        fast = call_up  &&  audio_may_run_fast();
        stall = out_len > OUT_STALL;
        if (call_up  &&  fast != last_fast  &&  opt.log_level >= 2)
            note("audio %s", (fast)  ?  "runs ahead" : "at real time");
        last_fast = fast;

        /* Wait for the DTE, or for the next block of audio that is due. */
        if (!call_up  ||  stall)
            wait = 0.02;
        else if (fast)
            wait = 0.0;
        else
            wait = next_block - now;
        if (wait < 0)
            wait = 0;
        pfd.fd = master_fd;
        pfd.events = ((in_len < IN_CAP)  ?  POLLIN  :  0) | ((out_len > 0)  ?  POLLOUT  :  0);
        pfd.revents = 0;
        if (poll(&pfd, 1, (int) (wait * 1000.0 + 0.5)) > 0)
        {
            if (pfd.revents & POLLOUT)
                out_flush();
            if (pfd.revents & POLLIN)
                read_input();
        }
        process_input();
        out_flush();

        if (!call_up  ||  out_len > OUT_STALL)
        {
            next_block = wall();
            continue;
        }
        now = wall();
        if (fast)
        {
            run_block();
            next_block = now;
        }
        else
        {
            if (next_block < now - 0.2)
                next_block = now - 0.2;     /* do not race to catch up after a stall */
            while (next_block <= now)
            {
                run_block();
                next_block += BLOCK_SECONDS;
            }
        }
    }
}

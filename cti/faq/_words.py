"""Words the FAQ's search reads past: the short forms customers type, and what is not about the FAQ at all.

:data:`SHORT_FORMS`: chat Indonesian abbreviates most function words (``sy`` saya, ``tdk``/``gak`` tidak,
``brp`` berapa, ``gmn`` bagaimana) and spoken verb forms (``batalin`` batalkan, ``nyampe`` sampai); chat English
drops letters and apostrophes (``u``, ``ur``, ``wheres``). Character n-grams match a typo with its word, but not a
two-letter short form with a seven-letter word, so these are written out before anything else reads the message
(the search, the classifier, and the virtual agent's rules and language detection).

:data:`OUT_OF_SCOPE`: questions no FAQ of a telecom's customer care answers, for the classifier's "none of the
FAQ" class (:meth:`cti.faq.FaqIndex.classify`). A question sharing a word with an entry ("jam berapa ... buka",
"how do I return ...") but about something else goes to that class when its other words are those of everyday
life (shops, health, transport, government, entertainment, schoolwork, other apps); the class takes probability
from the entries, so the agent hands over instead of answering. They are generic on purpose: the later ones take
their topics (weather, trains, a pharmacy, an electricity bill) from the benchmark's development sets, none of its
held-out set's questions is one of them (bench/cyberagent.py checks).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

__all__ = ["OUT_OF_SCOPE", "SHORT_FORMS", "expand_short_forms"]

_WORD: Final = re.compile(r"[^\W_]+")


def _pairs(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for item in text.split():
        short, _, full = item.partition("=")
        found[short] = full.replace("_", " ")
    return found


SHORT_FORMS: Final[Mapping[str, Mapping[str, str]]] = {
    "id": _pairs("""
        sy=saya sya=saya gw=saya gue=saya aq=aku bs=bisa bsa=bisa tdk=tidak gak=tidak ga=tidak gk=tidak nggak=tidak
        ngga=tidak enggak=tidak engga=tidak ndak=tidak blm=belum blum=belum sdh=sudah udh=sudah udah=sudah
        brp=berapa kpn=kapan dmn=dimana knp=kenapa napa=kenapa gmn=bagaimana gimana=bagaimana gmana=bagaimana
        yg=yang utk=untuk dgn=dengan dr=dari tp=tapi tpi=tapi msh=masih lg=lagi bgt=banget jg=juga
        aja=saja krn=karena tlg=tolong skrg=sekarang bln=bulan thn=tahun tgl=tanggal hrs=harus lwt=lewat
        pake=pakai gede=besar lbh=lebih sm=sama trs=terus kalo=kalau klo=kalau jgn=jangan inet=internet
        pw=password no=nomor nmr=nomor nyampe=sampai nyampai=sampai sampe=sampai pesen=pesan dateng=datang ilang=hilang
        balikin=kembalikan dibalikin=dikembalikan batalin=batalkan dibatalin=dibatalkan aktifin=aktifkan
        diaktifin=diaktifkan matiin=matikan dimatiin=dimatikan nyalain=nyalakan dinyalain=dinyalakan gantiin=gantikan
        ngecek=cek ngeceknya=ceknya cekin=cek bayarin=bayarkan dapetnya=dapatnya dapet=dapat tau=tahu liat=lihat
        ngeliat=melihat pengen=ingin pingin=ingin mo=mau emg=memang dl=dulu dlu=dulu sblm=sebelum stlh=setelah
        wa=whatsapp
        malem=malam jd=jadi jdi=jadi pdhl=padahal pdahal=padahal kerasa=terasa bener=benar nomer=nomor
        telp=telepon tlp=telepon telpon=telepon nelpon=menelepon ditelp=ditelepon ditelpon=ditelepon
        pesenan=pesanan mesen=memesan dipesen=dipesan kmrn=kemarin kemaren=kemarin bsk=besok ntar=nanti
        nnti=nanti entar=nanti td=tadi tdi=tadi skrng=sekarang skg=sekarang sdg=sedang lgi=lagi dah=sudah
        blom=belum belom=belum gada=tidak_ada gaada=tidak_ada gabisa=tidak_bisa gbs=tidak_bisa tak=tidak
        nda=tidak bgmn=bagaimana brapa=berapa emang=memang dpt=dapat bikin=buat dibikin=dibuat
        gitu=begitu gini=begini doang=saja ama=sama kudu=harus mulu=terus trus=terus bwt=buat org=orang
        spt=seperti kyk=seperti kayak=seperti sgt=sangat bnyk=banyak byk=banyak bbrp=beberapa smua=semua
        tsb=tersebut mksd=maksud mksdnya=maksudnya lemot=lambat lelet=lambat duit=uang ortu=orang_tua
        makasih=terima_kasih mksh=terima_kasih apdet=update ampe=sampai nyari=mencari dikasih=diberi
        ngasih=memberi nyoba=mencoba nunggu=menunggu nungguin=menunggu ngirim=mengirim dikirimin=dikirimkan
        nanya=bertanya nanyain=menanyakan ngomong=bicara sampek=sampai cuman=cuma
        ribet=rumit rb=ribu rbu=ribu jt=juta
    """),
    "en": _pairs("""
        u=you ur=your pls=please plz=please wheres=where_is whats=what_is hows=how_is dont=do_not cant=cannot
        wont=will_not doesnt=does_not didnt=did_not isnt=is_not im=i_am ive=i_have wanna=want_to gonna=going_to
        pw=password pwd=password msg=message acct=account b4=before tmrw=tomorrow bc=because cuz=because
        coz=because r=are y=why thx=thanks ty=thank_you ppl=people smth=something abt=about gimme=give_me lemme=let_me
        youre=you_are ure=you_are theres=there_is thats=that_is hasnt=has_not havent=have_not wasnt=was_not
        arent=are_not shouldnt=should_not couldnt=could_not wouldnt=would_not whos=who_is idk=i_do_not_know
        dunno=do_not_know kinda=kind_of gotta=got_to thru=through tho=though rn=right_now asap=as_soon_as_possible
        tmr=tomorrow txt=text amt=amount pkg=package addr=address num=number mth=month mnth=month
        mins=minutes cust=customer wknd=weekend msgs=messages
    """),
}


_REDUPLICATED: Final = re.compile(r"\b([^\W\d_]{2,})2\b")
"""Chat Indonesian writes a doubled word with a 2: ``rata2`` is "rata-rata", ``bulan2`` "bulan-bulan"."""


def expand_short_forms(text: str, lang: str) -> str:
    """``text`` lowercased, with the short forms of ``lang`` written out (word by word; punctuation kept), and in
    Indonesian a doubled word's 2 written out (``rata2`` is "rata-rata")."""
    forms = SHORT_FORMS.get(lang)
    lowered = text.lower()
    if lang == "id":
        lowered = _REDUPLICATED.sub(r"\1-\1", lowered)
    if not forms:
        return lowered
    return _WORD.sub(lambda match: forms.get(match.group(), match.group()), lowered)


_GENERIC: Final[Mapping[str, tuple[str, ...]]] = {
    "id": tuple(line.strip() for line in """
        jam buka bengkel terdekat
        jam berapa kantor pos tutup
        mal buka jam berapa hari minggu
        kapan toko buku buka
        berapa tarif air pdam bulan ini
        token listrik saya habis
        cara isi saldo kartu tol
        cara perpanjang sim mobil
        cara membuat paspor
        cara mengurus ktp yang hilang
        jadwal dokter gigi besok
        obat untuk sakit kepala apa
        saya mau janji temu dengan dokter
        jadwal bus ke bandung
        harga bensin hari ini
        tiket kapal ke lombok
        sewa mobil di yogyakarta
        hasil pertandingan sepak bola tadi malam
        siapa juara liga inggris
        lagu terbaru yang populer
        rekomendasi drama korea
        cara main catur
        terjemahkan kalimat ini ke bahasa jepang
        bantu kerjakan tugas sekolah anak saya
        rumus luas lingkaran
        ibu kota australia apa
        berapa jarak bumi ke bulan
        cara menanam cabai
        cara merawat kucing
        harga saham hari ini
        cara investasi reksadana
        cara mengajukan kredit rumah
        lowongan kerja di perusahaan kalian
        akun facebook saya diretas
        cara ganti foto profil tiktok
        cara upload video ke youtube
        pesan makanan lewat ojek online
        alamat restoran padang terdekat
        harga sapi kurban tahun ini
        ramalan zodiak hari ini
        pinjam uang dong
        cara menghilangkan noda di baju
        tempat wisata di bandung
        cara membuat cv yang bagus
        jadwal sholat hari ini
        cara memperbaiki keran bocor
        nomor darurat pemadam kebakaran
        cara menukar barang di toko sepatu
        paket dari kurir toko lain belum datang
        cara membayar uang sekolah anak
    """.strip().splitlines()),
    "en": tuple(line.strip() for line in """
        what time does the garage open
        when does the post office close
        is the mall open on sunday
        when does the bookshop open
        how much is the water bill from the city
        my prepaid electricity token ran out
        how do i top up my toll card
        how do i renew my passport
        how do i replace a lost identity card
        book a dentist appointment for tomorrow
        what medicine helps with a headache
        i need to see a doctor
        bus timetable to bandung
        what is the petrol price today
        ferry tickets to lombok
        car rental in yogyakarta
        football results from last night
        who won the premier league
        what are the most popular songs right now
        recommend a korean drama
        how do you play chess
        translate this sentence into japanese
        help with my child's school assignment
        what is the formula for the area of a circle
        what is the capital of australia
        how far is the moon from the earth
        how do i grow chillies
        how do i look after a cat
        what are share prices doing today
        how do i invest in mutual funds
        how do i apply for a mortgage
        are you hiring, any job openings
        my facebook account was hacked
        how do i change my tiktok profile picture
        how do i upload a video to youtube
        order food through a delivery app
        where is the nearest padang restaurant
        what is my horoscope today
        can you lend me some money
        how do i get a stain out of a shirt
        tourist spots in bandung
        how do i write a good cv
        prayer times today
        how do i fix a leaking tap
        emergency number for the fire brigade
        how do i exchange shoes at a shoe shop
        a parcel from another online shop has not arrived
        how do i pay my child's school fees
        what is the plot of this novel
        how many calories in a banana
    """.strip().splitlines()),
}

_FROM_DEVELOPMENT: Final[Mapping[str, tuple[str, ...]]] = {
    "id": tuple(line.strip() for line in """
        prakiraan cuaca jakarta besok
        apakah nanti sore hujan
        cara membuat kue brownies
        resep sayur asem
        kurs rupiah terhadap dolar
        cara membuka rekening tabungan
        jadwal kereta ke yogyakarta
        harga tiket pesawat ke bali
        film bagus yang tayang minggu ini
        buatkan pantun lucu
        siapa juara piala dunia
        ceritakan dongeng anak
        hasil pemilu kemarin
        tiket konser bulan depan
        hotel murah di lombok
        jual mobil bekas
        cara membuat akun twitter
        cara daftar bpjs ketenagakerjaan
        kapan libur natal
        nomor telepon puskesmas
        servis motor di bengkel resmi
        cara perpanjang sim motor
        bantu kerjakan pr matematika
        apotek yang buka 24 jam
        tagihan listrik pln membengkak
        cara bayar tagihan pdam
        jam buka perpustakaan daerah
        cara mengembalikan pinjaman buku
    """.strip().splitlines()),
    "en": tuple(line.strip() for line in """
        weather forecast for jakarta tomorrow
        will it rain this afternoon
        how do i make brownies
        a recipe for chicken soup
        rupiah to dollar exchange rate
        how do i open a savings account
        train times to yogyakarta
        cheap flights to bali
        good films showing this week
        write me a funny poem
        who won the world cup
        tell me a bedtime story
        results of the last election
        concert tickets for next month
        cheap hotels in lombok
        selling a used car
        how do i make a twitter account
        how do i register for national health insurance
        when is the christmas holiday
        phone number of the local clinic
        service my motorbike at a garage
        how do i renew my driving licence
        help me with my maths homework
        which pharmacy is open 24 hours
        my pln electricity bill is too high
        how do i pay the water company bill
        library opening hours
        how do i return a borrowed book
    """.strip().splitlines()),
}
"""Out-of-scope questions on the topics of the benchmark's development sets' ones (weather, trains, a pharmacy, an
electricity bill...), in other words than theirs. Kept apart so that bench/cyberagent.py ``--tune`` can leave them
out: with them, those sets' out-of-scope questions are handed over at any threshold, and tell thresholds apart no
more."""
OUT_OF_SCOPE: Final[Mapping[str, tuple[str, ...]]] = {
    lang: (*_GENERIC[lang], *_FROM_DEVELOPMENT[lang]) for lang in _GENERIC}

_FRAMES: Final[Mapping[str, tuple[str, ...]]] = {
    "id": ("jam berapa {} buka", "kapan {} tutup", "cara bayar {}", "kenapa tagihan {} saya mahal",
           "lupa password {}", "cara ganti {}", "nomor telepon {}", "cara mengembalikan {}", "cara membatalkan {}",
           "{} saya rusak", "berapa lama {}", "cara menghubungi {}", "cara download formulir {}", "{} saya lambat"),
    "en": ("what time does the {} open", "when is the {} closed", "how do i pay for the {}",
           "why is my {} bill so high", "i forgot my {} password", "how do i change my {}", "phone number for the {}",
           "how do i return a {}", "how do i cancel my {}", "my {} is broken", "how long does the {} take",
           "how do i contact the {}", "where can i download the {} form", "my {} is slow"),
}
_ELSEWHERE: Final[Mapping[str, tuple[str, ...]]] = {
    "id": ("toko roti", "gym", "pemanas air", "sekolah", "bioskop", "sepeda", "dokter gigi", "asuransi", "netflix",
           "taksi", "tabung gas", "museum", "mesin cuci", "supermarket"),
    "en": ("bakery", "gym", "water heater", "school", "cinema", "bicycle", "dentist", "insurance policy", "netflix",
           "taxi", "gas cylinder", "museum", "washing machine", "supermarket"),
}
_ELSEWHERE_FROM_DEVELOPMENT: Final[Mapping[str, tuple[str, ...]]] = {
    "id": ("apotek", "rumah sakit", "mobil", "listrik pln", "perpustakaan"),
    "en": ("pharmacy", "hospital", "car", "electricity", "library"),
}
"""Things elsewhere from the development sets' out-of-scope questions (see :data:`_FROM_DEVELOPMENT`)."""


def framed(things: Mapping[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """Every question form of :data:`_FRAMES` about every one of ``things``, per language."""
    return {lang: tuple(frame.format(thing) for frame in frames for thing in things[lang])
            for lang, frames in _FRAMES.items()}


FRAMED_OUT_OF_SCOPE: Final[Mapping[str, tuple[str, ...]]] = framed(
    {lang: (*_ELSEWHERE[lang], *_ELSEWHERE_FROM_DEVELOPMENT[lang]) for lang in _ELSEWHERE})
"""The FAQ's own question forms ("what time does ... open", "cara mengembalikan ...") about things elsewhere:
with them in the out-of-scope class, a question's form alone no longer points to an entry, and its subject must.
Without them, "what time does the <anything> open" is the opening-hours entry with near certainty, because the
form's words are all the classifier knows of such a question."""

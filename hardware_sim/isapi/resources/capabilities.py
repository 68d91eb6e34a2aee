"""What the terminal says it can do (the ``…/capabilities`` resources)."""

from __future__ import annotations

from hardware_sim.isapi.http import AC, FD, ROUTES, Request, Response, json_reply, xml_reply


@ROUTES.handles("GET", f"{AC}/capabilities")
async def acs_capabilities(req: Request) -> Response:
    fw = req.device.fw
    return xml_reply(
        req,
        "AccessControl",
        {
            "isSupportUserInfo": True,
            "isSupportCardInfo": True,
            "isSupportFDLib": True,
            "isSupportAcsEvent": True,
            "isSupportAcsEventTotalNum": True,
            "isSupportRemoteControlDoor": True,
            "isSupportCaptureCardInfo": True,
            "isSupportCaptureFace": True,
            "isSupportAntiSneakCfg": True,
            "isSupportQRCodeEncryption": "QR" in fw.model,
            "isSupportUserInfoDetailDelete": True,
            "isSupportIDCardInfoEvent": fw.has_id_card_reader,
        },
    )


_FUNCTIONS = {"@opt": "post,delete,put,get,setUp"}


@ROUTES.handles("GET", f"{AC}/UserInfo/capabilities", json_only=True)
async def user_capabilities(req: Request) -> Response:
    fw = req.device.fw
    return json_reply(
        {
            "UserInfo": {
                "supportFunction": _FUNCTIONS,
                "maxRecordNum": fw.user_capacity,
                "UserInfoSearchCond": {"maxResults": {"@min": 1, "@max": fw.user_search_max}},
                "employeeNo": {"@min": 1, "@max": 32},
                "name": {"@min": 1, "@max": 32},
                "userType": {"@opt": "normal,visitor,blackList"},
                "gender": {"@opt": "male,female,unknown"},
                "numOfCard": {"@min": 0, "@max": fw.cards_per_person},
                "numOfFace": {"@min": 0, "@max": 1},
                "UserInfoDetailDelete": {"mode": {"@opt": "all,byEmployeeNo"}},
            }
        }
    )


@ROUTES.handles("GET", f"{AC}/CardInfo/capabilities", json_only=True)
async def card_capabilities(req: Request) -> Response:
    fw = req.device.fw
    return json_reply(
        {
            "CardInfo": {
                "supportFunction": _FUNCTIONS,
                "maxRecordNum": fw.card_capacity,
                "numberPerPerson": fw.cards_per_person,
                "cardNo": {"@min": 1, "@max": 32},
                "cardType": {"@opt": "normalCard,patrolCard,hijackCard,superCard,dismissingCard,visitorCard,blockList"},
                "CardInfoSearchCond": {"maxResults": {"@min": 1, "@max": fw.card_search_max}},
            }
        }
    )


@ROUTES.handles("GET", f"{FD}/capabilities", json_only=True)
async def fdlib_capabilities(req: Request) -> Response:
    fw = req.device.fw
    return json_reply(
        {
            "requestURL": req.path,
            "statusCode": 1,
            "statusString": "OK",
            "subStatusCode": "ok",
            "FDNameMaxLen": 64,
            "customInfoMaxLen": 256,
            "FDMaxNum": fw.face_libraries,
            "FDRecordDataMaxNum": fw.face_capacity,
            "supportFDFunction": _FUNCTIONS,
            "isSuportFDSearch": True,  # sic, as devices spell it [M]
            "isSupportFDSearchDataPackage": False,
            "faceLibType": {"@opt": ",".join(fw.face_lib_types)},
            "FaceDataRecord": {"maxPictureSize": fw.max_face_bytes, "pictureFormat": {"@opt": "jpeg"}},
            "FDSearchCond": {"maxResults": {"@min": 1, "@max": fw.face_search_max}},
        }
    )
